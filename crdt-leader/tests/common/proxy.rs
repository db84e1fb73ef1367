//! A TCP proxy the test controls, for faults the kernel cannot make here (no
//! `netem`): delay, "loss" (a connection cut mid-stream, as TCP turns loss into a
//! stall or a reset), garbling (bytes dropped from the stream, which corrupts
//! the frames behind it: the receiver must close the connection, never crash), and a
//! partition (every connection cut and new ones refused).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::Rng;

/// What the proxy does to the traffic it carries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Cut every connection and refuse new ones.
    pub blocked: bool,
    /// Each chunk waits a random 0..=`delay_ms` ms before it is forwarded.
    pub delay_ms: u64,
    /// The probability that a chunk cuts its connection instead of being forwarded.
    pub loss: f64,
    /// The probability that a chunk loses a random run of its bytes.
    pub garble: f64,
}

/// What the proxy did.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections cut (by loss, a partition or [`Proxy::cut`]).
    pub cuts: AtomicU64,
    /// Chunks that lost bytes.
    pub garbled: AtomicU64,
}

struct Ctl {
    faults: Mutex<Faults>,
    /// Bytes to put into the stream toward the upstream before its next chunk.
    inject: Mutex<Option<Vec<u8>>>,
    conns: Mutex<Vec<JoinHandle<()>>>,
    stats: Stats,
    seed: AtomicU64,
}

/// A running proxy; dropping it stops it and cuts its connections.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    ctl: Arc<Ctl>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `listen` and forwards each connection to `upstream`.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr, seed: u64) -> Self {
        let listener = TcpListener::bind(listen).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ctl = Arc::new(Ctl {
            faults: Mutex::new(Faults::default()),
            inject: Mutex::new(None),
            conns: Mutex::new(Vec::new()),
            stats: Stats::default(),
            seed: AtomicU64::new(seed),
        });
        let c = ctl.clone();
        let accept = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                if c.faults.lock().unwrap().blocked {
                    continue; // dropped: refused
                }
                c.stats.accepted.fetch_add(1, Ordering::Relaxed);
                let rng = Rng(c.seed.fetch_add(0x1234_5678_9abc, Ordering::Relaxed));
                let h = tokio::spawn(forward(down, upstream, c.clone(), rng));
                let mut conns = c.conns.lock().unwrap();
                conns.retain(|h| !h.is_finished());
                conns.push(h);
            }
        });
        Self { addr, ctl, accept }
    }

    /// Sets the faults; a partition cuts every live connection at once.
    pub fn set(&self, faults: Faults) {
        *self.ctl.faults.lock().unwrap() = faults;
        if faults.blocked {
            self.cut();
        }
    }

    /// Cuts every live connection.
    pub fn cut(&self) {
        for h in self.ctl.conns.lock().unwrap().drain(..) {
            if !h.is_finished() {
                self.ctl.stats.cuts.fetch_add(1, Ordering::Relaxed);
            }
            h.abort();
        }
    }

    /// Puts `bytes` into the stream toward the upstream, before the next chunk
    /// (a chunk usually starts at a frame, so this can forge a frame header).
    pub fn inject_once(&self, bytes: &[u8]) {
        *self.ctl.inject.lock().unwrap() = Some(bytes.to_vec());
    }

    /// What it did so far.
    pub fn stats(&self) -> &Stats {
        &self.ctl.stats
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn forward(down: TcpStream, upstream: SocketAddr, ctl: Arc<Ctl>, mut rng: Rng) {
    let connect = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(upstream));
    let Ok(Ok(up)) = connect.await else {
        return;
    };
    let _ = up.set_nodelay(true);
    let _ = down.set_nodelay(true);
    let (dr, dw) = down.into_split();
    let (ur, uw) = up.into_split();
    let rng2 = Rng(rng.next_u64());
    tokio::select! {
        _ = pump(dr, uw, &ctl, rng, true) => {}
        _ = pump(ur, dw, &ctl, rng2, false) => {}
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    ctl: &Ctl,
    mut rng: Rng,
    toward_upstream: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let f = *ctl.faults.lock().unwrap();
        if f.blocked {
            return;
        }
        if f.loss > 0.0 && rng.unit() < f.loss {
            ctl.stats.cuts.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut chunk = &buf[..n];
        let mut tail: &[u8] = &[];
        if f.garble > 0.0 && rng.unit() < f.garble {
            // Bytes vanish from the middle of the stream: whatever frames they
            // belonged to, the receiver now reads lengths and bodies out of step.
            ctl.stats.garbled.fetch_add(1, Ordering::Relaxed);
            let from = rng.below(n as u64) as usize;
            let to = from + 1 + rng.below((n - from) as u64) as usize;
            (chunk, tail) = (&buf[..from], &buf[to..n]);
        }
        if f.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(rng.below(f.delay_ms + 1))).await;
        }
        let injected = if toward_upstream {
            ctl.inject.lock().unwrap().take()
        } else {
            None
        };
        if let Some(bytes) = injected {
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        if to.write_all(chunk).await.is_err() || to.write_all(tail).await.is_err() {
            return;
        }
    }
}
