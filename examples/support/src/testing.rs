//! Runs an example binary for a test: `PORT=0`, reads its `listening on` line, kills it on
//! drop. Shared by both example apps' HTTP tests and the browser test.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a binary may take to print its `listening on` line.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running example app.
#[derive(Debug)]
pub struct AppProcess {
    child: Child,
    base: String,
    rest: mpsc::Receiver<String>,
}

impl AppProcess {
    /// Starts `binary` with `PORT=0`, `RUST_LOG=warn`, the variables in `set` and without
    /// those in `remove`; panics (failing the test) if no `listening on` line arrives.
    pub fn start(binary: &str, set: &[(&str, &str)], remove: &[&str]) -> Self {
        let mut command = Command::new(binary);
        command.env("PORT", "0").env("RUST_LOG", "warn");
        for (k, v) in set {
            command.env(k, v);
        }
        for k in remove {
            command.env_remove(k);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (first_tx, first_rx) = mpsc::channel();
        let (rest_tx, rest) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = first_tx.send(line);
            let mut others = String::new();
            let _ = reader.read_to_string(&mut others);
            let _ = rest_tx.send(others);
        });
        let line = match first_rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("{binary} printed no `listening on` line within {START_TIMEOUT:?}");
            }
        };
        let base = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("listening on "))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let port: u16 = base
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected address in {line:?}"));
        assert_ne!(port, 0, "the line must show the real port");
        Self { child, base, rest }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The app's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the app and returns what it printed on stdout after the first line.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.rest
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default()
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The workspace root (this crate lives in `examples/support`).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Issue 7's end-to-end check: starts `binary` in emulator mode (no `BEAMS_*` variables),
/// lets headless Chromium drive the demo page through `tests/js/demo-e2e.mjs` (log in, get a
/// token, link the device, press "Notify me", see the notification; and the 401 shown while
/// logged out), saves a screenshot to `tests/artifacts/demo-<name>.png` and checks the
/// script's JSON summary. Panics (failing the test) with the script's output on any failure,
/// including a missing node, playwright-core or chromium.
pub fn run_demo_in_chromium(binary: &str, name: &str) {
    let root = workspace_root();
    let node_dir = std::env::var_os("BEAMS_TEST_NODE_DIR")
        .map_or_else(|| root.join("tests/js"), std::path::PathBuf::from);
    let screenshot = root.join(format!("tests/artifacts/demo-{name}.png"));
    std::fs::create_dir_all(screenshot.parent().expect("a parent")).expect("tests/artifacts");
    let _ = std::fs::remove_file(&screenshot);
    let unset = [
        "BEAMS_INSTANCE_ID",
        "BEAMS_SECRET_KEY",
        "BEAMS_ENDPOINT",
        "BEAMS_EMULATOR_PORT",
    ];
    let app = AppProcess::start(binary, &[], &unset);
    let out = std::process::Command::new("node")
        .arg(root.join("tests/js/demo-e2e.mjs"))
        .arg(app.base_url())
        .arg(&screenshot)
        .env("BEAMS_TEST_NODE_DIR", &node_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): run ./scripts/test.sh to install it"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the browser test failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    println!("{stdout}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("a JSON summary");
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["claims"]["sub"], "zoë +test", "{summary}");
    assert_eq!(
        summary["tokenRequest"],
        "/pusher/beams-auth?user_id=zo%C3%AB%20%2Btest"
    );
    assert_eq!(summary["notification"]["title"], "Hello, zoë!", "{summary}");
    assert!(
        summary["publishId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{summary}"
    );
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG"),
        "{} is not a PNG",
        screenshot.display()
    );
}
