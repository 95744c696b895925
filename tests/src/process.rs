//! An example binary as a child process for a test: `PORT=0`, reads its `listening on` line,
//! kills it on drop. Shared by both example apps' HTTP tests and the browser test.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a binary may take to print its `listening on` line.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running example app. Everything it prints after the `listening on` line (stdout) and on
/// stderr is captured; it is killed on drop.
#[derive(Debug)]
pub struct AppProcess {
    child: Child,
    port: u16,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl AppProcess {
    /// Starts `binary` with `PORT=0`, `RUST_LOG=warn` (unless `set` has one), the variables
    /// in `set` and without those in `remove`; panics (failing the test) if no
    /// `listening on http://127.0.0.1:<port>` line with a real port arrives.
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
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let (stdout, stderr) = (Arc::default(), Arc::<Mutex<Vec<u8>>>::default());
        let (first_tx, first_rx) = mpsc::channel();
        let pipe = child.stdout.take().expect("piped stdout");
        let out = Arc::clone(&stdout);
        let stdout_reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = first_tx.send(line);
            copy_into(reader, &out);
        });
        let pipe = child.stderr.take().expect("piped stderr");
        let err = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || copy_into(pipe, &err));
        let line = first_rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let port = line
            .trim_end()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0);
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            let printed =
                String::from_utf8_lossy(&stderr.lock().expect("not poisoned")).into_owned();
            panic!(
                "{binary} did not print `listening on http://127.0.0.1:<port>` (first line {line:?}); stderr: {printed}"
            );
        };
        Self {
            child,
            port,
            stdout,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// The port the app listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`, for raw sockets and `Host` headers.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The app's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything printed so far, stdout (after the first line) then stderr, as lossy UTF-8.
    pub fn output(&self) -> String {
        let mut all = self.stdout.lock().expect("not poisoned").clone();
        all.extend_from_slice(&self.stderr.lock().expect("not poisoned"));
        String::from_utf8_lossy(&all).into_owned()
    }

    /// Stops the app and returns what it printed on stdout after the first line.
    pub fn stop(mut self) -> String {
        self.kill_and_drain();
        String::from_utf8_lossy(&self.stdout.lock().expect("not poisoned")).into_owned()
    }

    /// Stops the app and returns everything it printed ([`output`](Self::output)).
    pub fn stop_with_output(mut self) -> String {
        self.kill_and_drain();
        self.output()
    }

    /// Sends `SIGTERM` and waits up to `within` for the app to exit: its exit status (`None`
    /// if it was still running, and then it is killed) and everything it printed.
    pub fn terminate(mut self, within: Duration) -> (Option<std::process::ExitStatus>, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = std::time::Instant::now() + within;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => break None,
            }
        };
        self.kill_and_drain();
        (status, self.output())
    }

    fn kill_and_drain(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_into(mut from: impl Read, into: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => into
                .lock()
                .expect("not poisoned")
                .extend_from_slice(&buf[..n]),
        }
    }
}

/// The workspace root (this crate lives in `tests`).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The demo's end-to-end check: starts `binary` in emulator mode (no `BEAMS_*` variables),
/// lets headless Chromium drive the demo page through `tests/js/demo-e2e.mjs` (log in, get a
/// token, link the device, press "Notify me", see the notification; and the 401 shown while
/// logged out), saves a screenshot to `tests/artifacts/demo-<name>.png` and checks the
/// script's JSON summary. Panics (failing the test) with the script's output on any failure,
/// including a missing node, playwright-core or chromium.
pub fn run_demo_in_chromium(binary: &str, name: &str) {
    run_demo_in_chromium_with(binary, name, &[]);
}

/// [`run_demo_in_chromium`] with the variables in `set` (e.g. `REDIS_URL`: then "Notify me"
/// goes through the outbox, and the page follows the queued notification until it is
/// published before its delivery report).
pub fn run_demo_in_chromium_with(binary: &str, name: &str, set: &[(&str, &str)]) {
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
    let app = AppProcess::start(binary, set, &unset);
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
    assert_eq!(
        summary["report"],
        serde_json::json!({"attempt": "delivered to 1 device(s)", "acknowledged": "acknowledged", "opened": "opened"}),
        "{summary}"
    );
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
