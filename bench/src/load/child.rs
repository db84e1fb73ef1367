//! A server process the benchmark started: killed when dropped (also on panic), its
//! output drained so it never blocks on a full pipe, its CPU time readable.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child as StdChild, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running child process. Dropping it kills the process and reaps it.
#[derive(Debug)]
pub struct Child {
    name: String,
    child: StdChild,
    first_line: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Child {
    /// Starts `cmd` with stdout piped (drained by a thread that hands over the first
    /// line) and stderr appended to `log`.
    ///
    /// # Errors
    /// When the program cannot be started.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self, String> {
        let err = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err));
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Keep reading until the process closes its stdout.
            for _ in lines {}
        });
        Ok(Self {
            name: name.to_string(),
            child,
            first_line: rx,
            log: log.to_path_buf(),
        })
    }

    /// The first line the process prints, waiting at most `timeout`.
    ///
    /// # Errors
    /// On timeout or when the process exits first (with the end of its log).
    pub fn first_line(&mut self, timeout: Duration) -> Result<String, String> {
        self.first_line
            .recv_timeout(timeout)
            .map_err(|_| self.failure(&format!("printed nothing within {timeout:?}")))
    }

    /// An error message naming the process, its exit status if it exited, and the end
    /// of its log.
    pub fn failure(&mut self, what: &str) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(s)) => format!(" (exited: {s})"),
            _ => String::new(),
        };
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "{} {what}{status}; end of {}:\n{}",
            self.name,
            self.log.display(),
            tail.join("\n")
        )
    }

    /// Makes [`Child::failure`] show this log instead of stderr's (a server that
    /// writes its own log file).
    pub fn show_log(&mut self, log: &Path) {
        self.log = log.to_path_buf();
    }

    /// The operating system's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// User plus system CPU time the process has used so far (Linux `/proc`), if
    /// readable.
    #[must_use]
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time(self.pid())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User plus system CPU time this process (the benchmark's clients) has used so far.
#[must_use]
pub fn own_cpu_time() -> Option<Duration> {
    cpu_time(std::process::id())
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// utime + stime of a process from `/proc/PID/stat` (fields 14 and 15).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is parenthesised and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = clock_ticks();
    Some(Duration::from_micros((utime + stime) * 1_000_000 / ticks))
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound, then released).
///
/// # Errors
/// When no port can be bound.
pub fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}
