//! A minimal HTTP/1.1 keep-alive connection for the load benchmark's writes: one
//! request in flight, `Content-Length` bodies, the answer's head parsed by `httparse`
//! (hyper's own parser).
//!
//! Why not reqwest, as the lag probe and the tests use: the benchmark's clients share
//! the machine's 2 cores with the servers, so a client's CPU per write is taken from
//! the system under test. Redis is driven by a hand-written RESP client (`redis.rs`);
//! reqwest's pool, tower stack and hyper client cost the leader phases about twice
//! the client CPU per write of that RESP client (measured in the report's "client CPU"
//! column). This is the same kind of client for HTTP: it writes the request in one
//! buffer and reads the answer with one buffered reader, as `redis-benchmark` or `wrk`
//! do, so that both systems are measured through equally lean clients.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest answer head (status line and headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The largest answer body accepted (a set's whole value comes back with each write).
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Headers parsed at most.
const MAX_HEADERS: usize = 32;

/// One HTTP/1.1 connection to a leader.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    host: String,
    bearer: String,
    /// The request being built.
    out: Vec<u8>,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
}

/// An answer: status code and body.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Conn {
    /// Connects to `addr` (`127.0.0.1:PORT`), `TCP_NODELAY`.
    ///
    /// # Errors
    /// A transport error.
    pub async fn connect(addr: &str, bearer: &str) -> Result<Self, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Self {
            stream,
            host: addr.to_string(),
            bearer: bearer.to_string(),
            out: Vec::with_capacity(512),
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// `POST path` with a JSON body; the answer.
    ///
    /// # Errors
    /// A transport error, a malformed or oversized answer, or a closed connection.
    pub async fn post_json(&mut self, path: &str, body: &str) -> Result<Answer, String> {
        use std::io::Write;
        self.out.clear();
        write!(
            self.out,
            "POST {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            self.host,
            self.bearer,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        self.stream
            .write_all(&self.out)
            .await
            .map_err(|e| e.to_string())?;
        self.answer().await
    }

    /// Reads one answer: its head, then `Content-Length` bytes of body.
    async fn answer(&mut self) -> Result<Answer, String> {
        let (status, head_len, body_len) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = response.code.ok_or("an answer without a status code")?;
                    let mut body_len = None;
                    for h in response.headers.iter() {
                        if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            return Err(
                                "a chunked answer: this client reads Content-Length bodies only"
                                    .into(),
                            );
                        }
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let n = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .ok_or("a malformed Content-Length")?;
                            body_len = Some(n);
                        }
                    }
                    let body_len = body_len.ok_or("an answer without Content-Length")?;
                    if body_len > MAX_BODY {
                        return Err(format!("an answer body of {body_len} bytes"));
                    }
                    break (status, head_len, body_len);
                }
                Ok(httparse::Status::Partial) => {
                    if self.buf.len() > MAX_HEAD {
                        return Err("an answer head over 16 KiB".into());
                    }
                    self.fill().await?;
                }
                Err(e) => return Err(format!("a malformed answer: {e}")),
            }
        };
        while self.buf.len() < head_len + body_len {
            self.fill().await?;
        }
        let body = self.buf[head_len..head_len + body_len].to_vec();
        self.buf.drain(..head_len + body_len);
        Ok(Answer { status, body })
    }

    /// Reads what the socket has into `buf`.
    async fn fill(&mut self) -> Result<(), String> {
        self.buf.reserve(16 * 1024);
        let n = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the leader closed the connection".into());
        }
        Ok(())
    }
}
