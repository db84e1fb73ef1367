//! What one durable write costs on this machine's disk, whatever the server: append
//! 4 KiB to a file in the temporary directory (where the servers' data lives) and
//! `fdatasync` it, one after another.

use super::latency::Summary;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// The probe's result.
#[derive(Debug, Clone)]
pub struct Disk {
    /// Latency of append + `fdatasync`.
    pub sync: Summary,
    /// Sequential syncs per second (one writer).
    pub per_second: f64,
    /// The block device under the temporary directory, as `lsblk` names it (best effort).
    pub device: String,
}

/// Appends and syncs for `duration` (at most 100,000 times).
///
/// # Errors
/// When the file cannot be written.
pub fn probe(duration: Duration) -> Result<Disk, String> {
    let dir = tempfile::Builder::new()
        .prefix("crdt-load-disk-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut f = std::fs::File::create(dir.path().join("probe")).map_err(|e| e.to_string())?;
    let block = [0x5a_u8; 4096];
    let mut nanos = Vec::new();
    let start = Instant::now();
    while start.elapsed() < duration && nanos.len() < 100_000 {
        let t = Instant::now();
        f.write_all(&block).map_err(|e| e.to_string())?;
        f.sync_data().map_err(|e| e.to_string())?;
        nanos.push(t.elapsed().as_nanos() as u64);
    }
    let per_second = nanos.len() as f64 / start.elapsed().as_secs_f64();
    Ok(Disk {
        sync: Summary::of(&mut nanos),
        per_second,
        device: device(dir.path()),
    })
}

/// `df` and `lsblk` on the directory: device, model, rotational, size.
fn device(dir: &std::path::Path) -> String {
    let run = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let dir = dir.to_string_lossy();
    let source = run("df", &["--output=source,fstype", &dir]);
    let source = source
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let dev = source.split_whitespace().next().unwrap_or("").to_string();
    let info = if dev.starts_with("/dev/") {
        run("lsblk", &["-dno", "NAME,TYPE,ROTA,SIZE,MODEL", &dev])
    } else {
        String::new()
    };
    let info = info.split_whitespace().collect::<Vec<_>>().join(" ");
    match (source.is_empty(), info.is_empty()) {
        (true, _) => "unknown".into(),
        (false, true) => source,
        (false, false) => format!("{source} (lsblk NAME TYPE ROTA SIZE MODEL: {info})"),
    }
}
