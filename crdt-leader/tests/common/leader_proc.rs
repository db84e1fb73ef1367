//! A `crdt-leader` process the test starts, `kill -9`s, restarts with the same
//! arguments (same data directory and ports), pauses and resumes. Dropping it kills
//! the process, also while a panic unwinds.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_crdt-leader");

/// One leader process.
#[derive(Debug)]
pub struct LeaderProc {
    /// Its `--id`.
    pub id: u64,
    /// `http://HOST:PORT` of its API as the test reaches it.
    pub base: String,
    argv: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    paused: bool,
    /// Times it was started.
    pub starts: u32,
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

impl LeaderProc {
    /// A leader run as `argv` (program first: the binary, or a wrapper such as
    /// `ip netns exec NAME` before it); its stderr is appended to `log`.
    pub fn new(id: u64, base: String, argv: Vec<String>, log: PathBuf) -> Self {
        Self {
            id,
            base,
            argv,
            log,
            child: None,
            paused: false,
            starts: 0,
        }
    }

    /// Starts the process (it serves once `/healthz` answers; see `wait_healthy`).
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "leader {} already runs", self.id);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start leader {}: {e}", self.id));
        self.child = Some(child);
        self.paused = false;
        self.starts += 1;
    }

    /// `kill -9`, and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.paused = false;
    }

    /// `SIGSTOP`.
    pub fn pause(&mut self) {
        if let Some(c) = &self.child {
            signal(c.id(), "-STOP");
            self.paused = true;
        }
    }

    /// `SIGCONT`.
    pub fn resume(&mut self) {
        if let Some(c) = &self.child {
            signal(c.id(), "-CONT");
        }
        self.paused = false;
    }

    /// Whether it runs (not paused, not killed).
    pub fn running(&self) -> bool {
        self.child.is_some() && !self.paused
    }

    /// An error with the tail of its log if the process exited on its own.
    pub fn check_alive(&mut self) -> Result<(), String> {
        let Some(c) = &mut self.child else {
            return Ok(());
        };
        match c.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "leader {} exited by itself ({status}); its log ends:\n{}",
                self.id,
                self.log_tail(40)
            )),
            Err(e) => Err(format!("leader {}: {e}", self.id)),
        }
    }

    /// The last `n` lines of its stderr.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for LeaderProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Waits (at most `limit`) until `GET base/healthz` answers 200.
pub async fn wait_healthy(client: &reqwest::Client, base: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let r = client
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_millis(500))
            .send()
            .await;
        if r.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
