//! Runs the pinned peers: Node scripts in the npm directory (`BEAMS_TEST_NODE_DIR`, default
//! `tests/js`) and Python scripts in `tests/py` with the venv's interpreter
//! (`BEAMS_TEST_PYTHON`, default `tests/py/.venv/bin/python`).
//!
//! Before the first run in a process each toolchain is checked once: `node` ≥ 20 on `PATH` and
//! the npm packages installed at the versions `package.json` pins; the venv's python present
//! with PyJWT and pusher-push-notifications at the versions `requirements.txt` pins. Anything
//! missing fails the test with a message naming the fix.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Environment variable naming the npm directory (with `node_modules`).
pub const NODE_DIR_ENV: &str = "BEAMS_TEST_NODE_DIR";
/// Environment variable naming the Python interpreter of the venv.
pub const PYTHON_ENV: &str = "BEAMS_TEST_PYTHON";

/// The npm packages the interop scripts import.
pub const NPM_PACKAGES: &[&str] = &[
    "@pusher/push-notifications-web",
    "@pusher/push-notifications-server",
    "jsonwebtoken",
];

/// The PyPI distributions the interop scripts import.
pub const PYPI_PACKAGES: &[&str] = &["PyJWT", "pusher-push-notifications"];

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

const SETUP: &str = "`./scripts/test.sh` installs everything the interop suite needs";

/// The npm directory: `$BEAMS_TEST_NODE_DIR`, else `tests/js`.
pub fn node_dir() -> PathBuf {
    match std::env::var_os(NODE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(MANIFEST_DIR).join("js"),
    }
}

/// The venv's interpreter: `$BEAMS_TEST_PYTHON`, else `tests/py/.venv/bin/python`.
pub fn python_path() -> PathBuf {
    match std::env::var_os(PYTHON_ENV) {
        Some(python) if !python.is_empty() => PathBuf::from(python),
        _ => Path::new(MANIFEST_DIR).join("py/.venv/bin/python"),
    }
}

/// The directory of the Python scripts (`tests/py`).
pub fn python_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("py")
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

fn check_node() -> Result<(), String> {
    let dir = node_dir();
    let output = Command::new("node").arg("--version").output().map_err(|e| {
        format!(
            "cannot run `node` ({e}): the interop suite needs Node.js 20 and npm on PATH; {SETUP}"
        )
    })?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let major: u32 = version
        .strip_prefix('v')
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("`node --version` printed {version:?}"))?;
    if major < 20 {
        return Err(format!(
            "node {version} is too old: the interop suite needs Node.js 20 (global fetch); {SETUP}"
        ));
    }
    let manifest = read_json(&dir.join("package.json")).map_err(|e| {
        format!("{e}: {NODE_DIR_ENV} must name the npm directory (tests/js); {SETUP}")
    })?;
    let npm_hint = if on_path("npm") {
        String::new()
    } else {
        " (npm is not on PATH either: install Node.js 20 with npm)".to_owned()
    };
    for package in NPM_PACKAGES {
        let pinned = manifest["dependencies"][*package].as_str().ok_or_else(|| {
            format!(
                "{} does not pin {package}",
                dir.join("package.json").display()
            )
        })?;
        let installed = dir.join("node_modules").join(package).join("package.json");
        let installed = read_json(&installed).map_err(|_| {
            format!(
                "the npm package {package} is not installed in {}: run `npm ci` there{npm_hint}; {SETUP}",
                dir.display()
            )
        })?;
        let version = installed["version"].as_str().unwrap_or("?");
        if version != pinned {
            return Err(format!(
                "{package} {version} is installed in {} but package.json pins {pinned}: run `npm ci` there{npm_hint}",
                dir.display()
            ));
        }
    }
    Ok(())
}

fn requirement_pins() -> Result<Vec<(String, String)>, String> {
    let path = python_dir().join("requirements.txt");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

fn check_python() -> Result<(), String> {
    let python = python_path();
    let create = "python3 -m venv tests/py/.venv && tests/py/.venv/bin/pip install --no-deps -r tests/py/requirements.txt";
    if !python.exists() {
        let source = match std::env::var_os(PYTHON_ENV) {
            Some(_) => format!("{PYTHON_ENV} names it"),
            None => format!("{PYTHON_ENV} is unset, so the default"),
        };
        let python3 = if on_path("python3") {
            ""
        } else {
            " (python3 is not on PATH either: install python3 and python3-venv)"
        };
        return Err(format!(
            "no Python interpreter at {} ({source}): create the venv with `{create}`{python3}; {SETUP}",
            python.display()
        ));
    }
    let probe = format!(
        "import importlib.metadata as m, json; print(json.dumps({{n: m.version(n) for n in {}}}))",
        serde_json::to_string(PYPI_PACKAGES).expect("strings serialize")
    );
    let output = Command::new(&python)
        .args(["-c", &probe])
        .output()
        .map_err(|e| {
            format!(
                "cannot run {} ({e}): recreate the venv with `{create}`",
                python.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "the venv at {} lacks the pinned packages: run `{create}`\n{}",
            python.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let installed: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("the package probe printed no JSON: {e}"))?;
    let pins = requirement_pins()?;
    for package in PYPI_PACKAGES {
        let pinned = pins
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(package))
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("tests/py/requirements.txt does not pin {package}"))?;
        let version = installed[*package].as_str().unwrap_or("?");
        if version != pinned {
            return Err(format!(
                "{package} {version} is installed in the venv but requirements.txt pins {pinned}: run `{create}`"
            ));
        }
    }
    Ok(())
}

fn node_ready() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(message) = CHECK.get_or_init(check_node) {
        panic!("interop suite: {message}");
    }
}

fn python_ready() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(message) = CHECK.get_or_init(check_python) {
        panic!("interop suite: {message}");
    }
}

/// One run of a peer script: arguments, environment, JSON on stdin, JSON expected on stdout.
#[derive(Debug, Clone)]
#[must_use]
pub struct Peer {
    program: PathBuf,
    dir: PathBuf,
    script: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<String>,
}

/// A Node script in the npm directory (e.g. `interop-verify-tokens.mjs`), run with that
/// directory as the working directory so it resolves the pinned packages.
pub fn node(script: &str) -> Peer {
    node_ready();
    let dir = node_dir();
    Peer {
        program: PathBuf::from("node"),
        script: dir.join(script),
        dir,
        args: Vec::new(),
        env: Vec::new(),
        stdin: None,
    }
}

/// A Python script in `tests/py` (e.g. `interop_verify_tokens.py`), run with the venv's
/// interpreter.
pub fn python(script: &str) -> Peer {
    python_ready();
    let dir = python_dir();
    Peer {
        program: python_path(),
        script: dir.join(script),
        dir,
        args: Vec::new(),
        env: Vec::new(),
        stdin: None,
    }
}

impl Peer {
    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Writes `input` as JSON to the script's stdin.
    pub fn stdin_json(mut self, input: &Value) -> Self {
        self.stdin = Some(input.to_string());
        self
    }

    /// Runs the script (blocking) and parses its stdout as JSON; panics with its stderr when
    /// it fails or prints no JSON.
    pub fn run_json(self) -> Value {
        assert!(
            self.script.is_file(),
            "interop suite: the script {} is missing",
            self.script.display()
        );
        let mut command = Command::new(&self.program);
        command
            .arg(&self.script)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "interop suite: cannot start {} {} ({e}); {SETUP}",
                self.program.display(),
                self.script.display()
            )
        });
        let mut stdin = child.stdin.take().expect("piped stdin");
        if let Some(input) = &self.stdin {
            stdin
                .write_all(input.as_bytes())
                .expect("write the script's stdin");
        }
        drop(stdin);
        let output = child.wait_with_output().expect("wait for the script");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{} {} failed ({}):\n{stderr}",
            self.program.display(),
            self.script.display(),
            output.status
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{} printed no JSON ({e}):\n{}\nstderr:\n{stderr}",
                self.script.display(),
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// [`run_json`](Self::run_json) on a blocking thread, so servers on the caller's runtime
    /// keep serving the script's requests.
    pub async fn run_json_async(self) -> Value {
        tokio::task::spawn_blocking(move || self.run_json())
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}
