//! `redis-server` (the Debian package) as the reference: a temporary directory, a free
//! loopback port, `--appendonly yes --appendfsync always --save ''` (every write
//! fsynced to the append-only file before the reply), a password; and a minimal RESP
//! client (one connection per benchmark client, one command in flight, as a
//! closed-loop client does).
//!
//! RESP rather than the `redis` crate: the benchmark sends three commands (`AUTH`,
//! `INCRBY`, `SADD`) and reads one-line replies, a few lines of code against a large
//! dependency tree (and its own connection handling) that would sit between the
//! benchmark and the server.

use super::child::{free_port, Child};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

/// How long redis-server may take to accept a `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running redis-server (killed on drop) and its address.
#[derive(Debug)]
pub struct Redis {
    /// The process.
    pub process: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The `requirepass` password.
    pub password: String,
    /// `redis-server --version`'s first line.
    pub version: String,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts `bin` (e.g. `redis-server`) and waits until it answers.
    ///
    /// # Errors
    /// When it does not start or answer within 20 s.
    pub async fn start(bin: &Path, password: &str) -> Result<Self, String> {
        let version = Command::new(bin).arg("--version").output().map_err(|e| {
            format!(
                "cannot run {} ({e}); install it: apt-get install -y redis-server",
                bin.display()
            )
        })?;
        let version = String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let dir = tempfile::Builder::new()
            .prefix("crdt-load-redis-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let port = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", ""])
            .args(["--daemonize", "no", "--requirepass", password])
            .arg("--logfile")
            .arg(dir.path().join("redis.log"));
        let mut process = Child::spawn("redis-server", cmd, &dir.path().join("redis.stderr"))?;
        process.show_log(&dir.path().join("redis.log"));
        let mut redis = Self {
            process,
            addr: format!("127.0.0.1:{port}"),
            password: password.to_string(),
            version,
            _dir: dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(mut c) = Conn::connect(&redis.addr, &redis.password).await {
                if c.command(&["PING"]).await.is_ok() {
                    return Ok(redis);
                }
            }
            if !redis.process.running() || Instant::now() > deadline {
                return Err(redis.process.failure("did not answer PING"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One RESP connection.
#[derive(Debug)]
pub struct Conn {
    stream: BufStream<TcpStream>,
    line: String,
}

impl Conn {
    /// Connects (`TCP_NODELAY`) and authenticates.
    ///
    /// # Errors
    /// A transport error or a refused password.
    pub async fn connect(addr: &str, password: &str) -> Result<Self, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut c = Self {
            stream: BufStream::new(tcp),
            line: String::new(),
        };
        c.command(&["AUTH", password]).await?;
        Ok(c)
    }

    /// Sends one command as a RESP array of bulk strings and reads its one-line reply
    /// (`+OK`, `:N`); an error reply (`-ERR …`) is an error.
    ///
    /// # Errors
    /// A transport error or an error reply.
    pub async fn command(&mut self, args: &[&str]) -> Result<String, String> {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.stream
            .write_all(out.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        self.stream.flush().await.map_err(|e| e.to_string())?;
        self.line.clear();
        let n = self
            .stream
            .read_line(&mut self.line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("redis closed the connection".into());
        }
        match self.line.as_bytes().first() {
            Some(b'+' | b':') => Ok(self.line.trim_end().to_string()),
            _ => Err(format!("redis answered {:?}", self.line.trim_end())),
        }
    }
}
