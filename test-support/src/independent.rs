//! Signatures computed by implementations nobody here wrote: Python's `hmac` module and
//! Node's `crypto`, as Beams' own docs compute the `Webhook-Signature`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The Python interpreter: `$BEAMS_TEST_PYTHON` (the test venv's), else `python3`.
fn python() -> PathBuf {
    std::env::var_os("BEAMS_TEST_PYTHON")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

fn run(mut command: Command, input: &[u8]) -> String {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input)
        .expect("write the body");
    let out = child.wait_with_output().expect("the signer ends");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("hex")
        .trim()
        .to_owned()
}

/// The workspace root (this crate lives in `test-support`).
fn workspace_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// `hmac.new(secret, body, hashlib.sha1).hexdigest()` (or `sha256`), by Python.
pub fn python_hmac(secret: &str, body: &[u8], sha256: bool) -> String {
    let mut command = Command::new(python());
    command
        .arg(workspace_root().join("tests/py/webhook_signature.py"))
        .arg(secret);
    if sha256 {
        command.arg("sha256");
    }
    run(command, body)
}

/// `crypto.createHmac("sha1", secret).update(body).digest("hex")`, by Node.
pub fn node_hmac(secret: &str, body: &[u8]) -> String {
    let mut command = Command::new("node");
    command.arg("-e").arg(
        "const c = require('crypto'); const chunks = []; \
         process.stdin.on('data', d => chunks.push(d)); \
         process.stdin.on('end', () => process.stdout.write( \
           c.createHmac('sha1', process.argv[1]).update(Buffer.concat(chunks)).digest('hex')));",
    );
    command.arg(secret);
    run(command, body)
}
