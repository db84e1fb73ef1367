//! The `crdt-leader` binary as a process: it refuses to run unauthenticated, drains
//! on SIGTERM, keeps every acknowledged write across `kill -9`, and runs the demo.

mod common;

use common::t;
use reqwest::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_crdt-leader");

/// A leader process, killed when dropped (also when a test fails half-way), so no
/// test leaves a server behind.
struct Proc(Child);

impl std::ops::Deref for Proc {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Proc {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a leader on loopback and returns it with its HTTP address.
fn start(dir: &std::path::Path, extra: &[&str]) -> (Proc, String) {
    let mut child = Proc(
        Command::new(BIN)
            .args(["--id", "1", "--http", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim()
        .to_string();
    (child, addr)
}

fn tokens_file(dir: &std::path::Path) -> std::path::PathBuf {
    let f = dir.join("tokens");
    std::fs::write(&f, "writer-token-1 write *\n").unwrap();
    f
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..400 {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    panic!("the process did not exit within 10 s");
}

#[test]
fn refuses_to_run_without_authentication_unless_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--id", "1", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--client-tokens") && err.contains("--insecure"),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["--id", "1", "--peer", "2@127.0.0.1:1", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--peer-secret-file"));
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = tokens_file(dir.path());
    let (mut child, addr) = start(
        &dir.path().join("data"),
        &["--client-tokens", tokens.to_str().unwrap()],
    );
    let r = t(reqwest::Client::new()
        .post(format!("http://{addr}/v1/docs/d/keys/k"))
        .bearer_auth("writer-token-1")
        .json(&json!({"type":"gcounter","op":"increment","by":1}))
        .send())
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(wait_exit(&mut child).success());
}

/// Concurrent writers, `kill -9` while they run, restart: every acknowledged
/// increment is there, and no more than were sent.
#[tokio::test]
async fn kill_9_loses_no_acknowledged_write() {
    kill_9_during_writes(&["--insecure"]).await;
}

/// The same under `--fsync interval:MS` with an interval far longer than the test:
/// nothing was fsynced after the first commit, yet a process crash loses nothing
/// (the write-behind log is replayed at start).
#[tokio::test]
async fn kill_9_loses_no_acknowledged_write_under_fsync_interval() {
    kill_9_during_writes(&["--insecure", "--fsync", "interval:600000"]).await;
}

async fn kill_9_during_writes(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, addr) = start(&data, args);
    let acked = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (acked, sent, client, addr) =
            (acked.clone(), sent.clone(), client.clone(), addr.clone());
        writers.push(tokio::spawn(async move {
            loop {
                sent.fetch_add(1, Ordering::SeqCst);
                let r = client
                    .post(format!("http://{addr}/v1/docs/crash/keys/c"))
                    .json(&json!({"type":"gcounter","op":"increment","by":1}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == StatusCode::OK => {
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => return w,
                }
            }
        }));
    }
    // Let some writes be acknowledged, then kill in the middle of the stream.
    while acked.load(Ordering::SeqCst) < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    wait_exit(&mut child);
    for w in writers {
        t(w).await.unwrap();
    }
    let (acked, sent) = (acked.load(Ordering::SeqCst), sent.load(Ordering::SeqCst));

    let (mut child, addr) = start(&data, args);
    let v: serde_json::Value = t(client
        .get(format!("http://{addr}/v1/docs/crash/keys/c"))
        .send())
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let got = v["value"].as_u64().unwrap();
    assert!(
        got >= acked && got <= sent,
        "after kill -9: counter {got}, acknowledged {acked}, sent {sent}"
    );
    child.kill().unwrap();
    wait_exit(&mut child);
}

#[test]
fn demo_smoke_converges_and_exits_0() {
    let out = Command::new(BIN)
        .args(["demo", "--smoke"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("converged"), "{stdout}");
    assert!(stdout.contains("curl"), "{stdout}");
    assert_eq!(stdout.matches("honoured").count(), 3, "{stdout}");
}
