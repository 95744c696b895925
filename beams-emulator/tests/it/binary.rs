//! The `beams-emulator` binary: argument handling and what it prints (never a secret it was given).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_beams-emulator");

/// Start the binary, collect stdout up to the "Inspect:" line, then stop it.
fn banner(args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("BEAMS_INSTANCE_ID")
        .env_remove("BEAMS_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            text.push_str(&line);
            text.push('\n');
            if line.starts_with("Inspect:") {
                break;
            }
        }
        let _ = tx.send(text);
    });
    let text = rx.recv_timeout(Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    text.expect("the binary prints its banner")
}

#[test]
fn prints_generated_credentials_but_never_a_given_secret() {
    let generated = banner(&["--port", "0"], &[]);
    assert!(
        generated.contains("listening on http://127.0.0.1:"),
        "{generated}"
    );
    let secret = generated
        .lines()
        .find_map(|l| l.strip_prefix("  BEAMS_SECRET_KEY="))
        .unwrap();
    assert_eq!(secret.len(), 64, "{generated}");
    assert!(
        secret
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    let id = generated
        .lines()
        .find_map(|l| l.strip_prefix("  BEAMS_INSTANCE_ID="))
        .unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let given = banner(
        &[
            "--instance-id=my-instance",
            "--secret-key",
            "GIVEN-SECRET-123",
        ],
        &[],
    );
    assert!(given.contains("BEAMS_INSTANCE_ID=my-instance"), "{given}");
    assert!(!given.contains("GIVEN-SECRET-123"), "{given}");

    let from_env = banner(
        &[],
        &[
            ("BEAMS_INSTANCE_ID", "env-instance"),
            ("BEAMS_SECRET_KEY", "ENV-SECRET-456"),
        ],
    );
    assert!(
        from_env.contains("BEAMS_INSTANCE_ID=env-instance"),
        "{from_env}"
    );
    assert!(!from_env.contains("ENV-SECRET-456"), "{from_env}");
}

#[test]
fn bad_arguments_get_an_error_and_the_usage() {
    for args in [
        &["--port", "nope"][..],
        &["--frobnicate"],
        &["--secret-key"],
    ] {
        let output = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains("Usage: beams-emulator"), "{stderr}");
    }
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--instance-id"));
}
