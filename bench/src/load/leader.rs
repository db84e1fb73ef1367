//! Two `crdt-leader` release processes on loopback (temporary data directories,
//! `--fsync always`, a real peer secret and a real client token), and their HTTP API.

use super::child::{free_port, Child};
use crate::rng::SplitMix64;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a leader may take to print its HTTP address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the two leaders may take to connect and replicate a first write.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Any one HTTP request (a lag read waits at most [`LAG_WAIT_MS`] on the server).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The `wait_ms` of a replication-lag read.
pub const LAG_WAIT_MS: u64 = 5_000;
/// The document every write goes to.
pub const DOC: &str = "load";

/// One leader: its process and HTTP base URL.
#[derive(Debug)]
pub struct Leader {
    /// The process (killed on drop).
    pub process: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// Leader 1 (written to) and leader 2 (replicated to).
#[derive(Debug)]
pub struct Pair {
    /// Written to.
    pub a: Leader,
    /// Measured for replication lag.
    pub b: Leader,
    /// The bearer token both accept (write access to every document).
    pub token: String,
    _dir: tempfile::TempDir,
}

fn random_hex(rng: &mut SplitMix64, bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rng.next_u64() as u8))
        .collect()
}

impl Pair {
    /// Starts leader 2, then leader 1 (the lower id dials the higher), waits until
    /// both serve HTTP and a write at 1 is readable at 2.
    ///
    /// # Errors
    /// Anything that keeps the pair from starting, with the end of the leader's log.
    pub async fn start(bin: &Path) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("crdt-load-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        // Secrets for a loopback benchmark: unpredictable enough, not cryptographic.
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        let mut rng = SplitMix64::new(seed);
        let secret_file = dir.path().join("peer-secret");
        std::fs::write(&secret_file, random_hex(&mut rng, 32)).map_err(|e| e.to_string())?;
        let token = random_hex(&mut rng, 16);
        let tokens_file = dir.path().join("client-tokens");
        std::fs::write(&tokens_file, format!("{token} write *\n")).map_err(|e| e.to_string())?;
        let [http1, peer1, http2, peer2] = [free_port()?, free_port()?, free_port()?, free_port()?];
        let start = |id: u64, http: u16, listen: u16, other: u64, other_port: u16| {
            let data = dir.path().join(format!("leader-{id}"));
            let mut cmd = Command::new(bin);
            cmd.arg("--id")
                .arg(id.to_string())
                .arg("--data-dir")
                .arg(&data)
                .arg("--http")
                .arg(format!("127.0.0.1:{http}"))
                .arg("--peer-listen")
                .arg(format!("127.0.0.1:{listen}"))
                .arg("--peer")
                .arg(format!("{other}@127.0.0.1:{other_port}"))
                .arg("--peer-secret-file")
                .arg(&secret_file)
                .arg("--client-tokens")
                .arg(&tokens_file)
                .arg("--fsync")
                .arg("always")
                .env("RUST_LOG", "warn");
            let log: PathBuf = dir.path().join(format!("leader-{id}.log"));
            let mut process = Child::spawn(&format!("crdt-leader {id}"), cmd, &log)?;
            let line = process.first_line(START_TIMEOUT)?;
            let url = line
                .split_once("HTTP on ")
                .map(|(_, u)| u.trim().to_string())
                .ok_or_else(|| process.failure(&format!("printed {line:?}, not its address")))?;
            Ok::<_, String>(Leader { process, url })
        };
        let b = start(2, http2, peer2, 1, peer1)?;
        let a = start(1, http1, peer1, 2, peer2)?;
        let pair = Self {
            a,
            b,
            token,
            _dir: dir,
        };
        pair.check_replication().await?;
        Ok(pair)
    }

    /// One write at leader 1, read at leader 2 with its token, within
    /// [`CONNECT_TIMEOUT`].
    async fn check_replication(&self) -> Result<(), String> {
        let http = client(4)?;
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        let mut conn =
            super::http::Conn::connect(self.a.url.trim_start_matches("http://"), &self.token)
                .await?;
        let answer = conn
            .post_json(
                &key_path("warmup"),
                r#"{"type":"gcounter","op":"increment","by":1}"#,
            )
            .await?;
        let w = token_of(answer.status, &answer.body)?;
        loop {
            match read_covering(&http, &self.b.url, &self.token, "warmup", &w, 1_000).await {
                Ok(true) => return Ok(()),
                Ok(false) | Err(_) if Instant::now() < deadline => {}
                Ok(false) => {
                    return Err(format!(
                        "leader 2 did not receive a write at leader 1 within {CONNECT_TIMEOUT:?}"
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `GET /metrics` of leader 1: the sum and count of its fsync histogram.
    ///
    /// # Errors
    /// When the request fails or no fsync histogram is found.
    pub async fn fsyncs(&self, http: &reqwest::Client) -> Result<Fsyncs, String> {
        let text = http
            .get(format!("{}/metrics", self.a.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let value = |suffix: &str| {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once(' '))
                .find(|(name, _)| name.contains("fsync") && name.ends_with(suffix))
                .and_then(|(_, v)| v.trim().parse::<f64>().ok())
        };
        match (value("_count"), value("_sum")) {
            (Some(count), Some(sum)) => Ok(Fsyncs {
                count,
                seconds: sum,
            }),
            _ => Err("no fsync histogram in leader 1's /metrics".into()),
        }
    }
}

/// Leader 1's durable commits so far (its `fsync` histogram).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fsyncs {
    /// Commits.
    pub count: f64,
    /// Total seconds spent in them.
    pub seconds: f64,
}

/// An HTTP/1.1 client with keep-alive (up to `connections` pooled per host),
/// `TCP_NODELAY`, no proxy and [`REQUEST_TIMEOUT`].
///
/// # Errors
/// When the client cannot be built.
pub fn client(connections: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(connections)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
}

/// The causal token of a write's answer (`200 {"token":"T","value":V}`, sent once
/// the write is durable), taken from its place: the token is hexadecimal and comes
/// first, so the value is not scanned. A JSON parser skipping the value scanned
/// every element of a set's answer, which cost this client about 4 µs of CPU per
/// write at 64 clients (Redis's client reads `:1`); the server's JSON is checked
/// by crdt-leader's own tests.
///
/// # Errors
/// A status other than 200, or a body of another shape.
pub fn token_of(status: u16, body: &[u8]) -> Result<String, String> {
    if status != 200 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(body)));
    }
    body.strip_prefix(br#"{"token":""#)
        .and_then(|rest| {
            let end = rest.iter().position(|&b| b == b'"')?;
            let (token, tail) = rest.split_at(end);
            let hex = !token.is_empty() && token.iter().all(u8::is_ascii_hexdigit);
            (hex && tail.starts_with(br#"","value":"#) && body.ends_with(b"}"))
                .then(|| String::from_utf8_lossy(token).into_owned())
        })
        .ok_or_else(|| {
            let start = &body[..body.len().min(80)];
            format!("not a write's answer: {}", String::from_utf8_lossy(start))
        })
}

/// The path of `POST /v1/docs/load/keys/{key}` (benchmark keys need no escaping).
#[must_use]
pub fn key_path(key: &str) -> String {
    format!("/v1/docs/{DOC}/keys/{key}")
}

/// `GET /v1/docs/load/keys/{key}?token=T&wait_ms=M`: `true` once the leader covers
/// the token, `false` if it still did not after `wait_ms` (503).
///
/// # Errors
/// A transport error or another status.
pub async fn read_covering(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    key: &str,
    token: &str,
    wait_ms: u64,
) -> Result<bool, String> {
    let r = http
        .get(format!(
            "{url}/v1/docs/{DOC}/keys/{key}?token={token}&wait_ms={wait_ms}"
        ))
        .bearer_auth(bearer)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let _ = r.bytes().await;
    match status {
        reqwest::StatusCode::OK => Ok(true),
        reqwest::StatusCode::SERVICE_UNAVAILABLE => Ok(false),
        s => Err(format!("lag read answered {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::token_of;

    #[test]
    fn a_write_answer_gives_its_token_and_anything_else_an_error() {
        let ok = br#"{"token":"0a1b2c","value":["a","\"}"]}"#;
        assert_eq!(token_of(200, ok).as_deref(), Ok("0a1b2c"));
        assert_eq!(
            token_of(200, br#"{"token":"ff","value":3}"#).as_deref(),
            Ok("ff")
        );
        for bad in [
            &br#"{"error":"no"}"#[..],
            br#"{"token":"","value":1}"#,
            br#"{"token":"0g","value":1}"#,
            br#"{"token":"0a","value":1"#,
            br#"{"token":"0a"}"#,
            br#"{"token":"0a"#,
            b"",
        ] {
            assert!(
                token_of(200, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(token_of(409, ok).unwrap_err().starts_with("409: "));
    }
}
