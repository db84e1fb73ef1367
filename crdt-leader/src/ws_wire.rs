//! The WebSocket contract of `GET /v1/docs/{doc}/sync` (specified in
//! `docs/WEBSOCKET.md`): its limits, the client's first frame, the server's answer
//! and the close codes.

use crate::auth::Access;
use crate::client_admission::INCARNATIONS_MAX;
use crate::error::Error;
use crdt_sync::Incarnation;
use serde::Deserialize;
use std::time::Duration;

/// The version of the WebSocket contract, in the server's answer.
pub const WS_PROTOCOL: u32 = 1;
/// The largest first (text) frame, in bytes.
pub const WS_HELLO_BYTES_MAX: usize = 4096;
/// Replica ids of clients are below this (exact JavaScript numbers).
pub const WS_REPLICA_LIMIT: u64 = 1 << 53;

/// Per-connection and per-node limits of WebSocket clients ([`NodeConfig::ws`](crate::NodeConfig::ws)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsLimits {
    /// The largest binary frame a client may send (default 16 MiB + 1 KiB, above
    /// crdt-sync's default `message_bytes_max`, so an honest client's largest message
    /// fits). Over it: closed with [`WsClose::TooLarge`].
    pub frame_bytes_max: usize,
    /// Frames per second read from one connection (a token bucket with one second of
    /// burst; default 500). Over it, reading pauses (TCP pushes back), counted.
    pub frames_per_second_max: u32,
    /// Open WebSocket connections per node (default 1,024). Over it: closed with
    /// [`WsClose::Busy`].
    pub connections_max: usize,
    /// Clients per document on this node (default 64; at most crdt-sync's `peers_max`
    /// minus the cluster's leaders). Over it: closed with [`WsClose::Busy`].
    pub connections_per_doc_max: usize,
    /// How long the server waits for the first frame (default 10 s); then
    /// [`WsClose::HelloTimeout`].
    pub hello_timeout: Duration,
    /// A connection that receives nothing (not even a pong to the server's pings,
    /// sent every third of it) for this long is closed with [`WsClose::GoingAway`]
    /// (default 60 s).
    pub idle_timeout: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            frame_bytes_max: (16 << 20) + 1024,
            frames_per_second_max: 500,
            connections_max: 1024,
            connections_per_doc_max: 64,
            hello_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl WsLimits {
    pub(crate) fn check(&self) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::Config(format!("WebSocket limits: {what}")));
        if self.frame_bytes_max < 1024 {
            return bad("frame_bytes_max must be at least 1024");
        }
        if self.frames_per_second_max == 0
            || self.connections_max == 0
            || self.connections_per_doc_max == 0
        {
            return bad("frames_per_second_max and the connection limits must be at least 1");
        }
        if self.hello_timeout.is_zero() || self.idle_timeout < Duration::from_secs(1) {
            return bad("hello_timeout must be positive and idle_timeout at least 1 s");
        }
        Ok(())
    }
}

/// Why the server closes a WebSocket connection: the close code and what the client
/// must do (see `docs/WEBSOCKET.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsClose {
    /// 1001: the node shuts down, or the connection was idle: reconnect with backoff.
    GoingAway,
    /// 1007: a frame that is not a crdt-sync message for this server (malformed,
    /// corrupt, misaddressed, a text frame after the first): reconnect with backoff.
    Malformed,
    /// 1009: a frame over `frame_bytes_max`: reconnect with backoff.
    TooLarge,
    /// 1011: the node failed internally: reconnect with backoff.
    Internal,
    /// 1013: too many connections (per node or document), or the document cannot take
    /// a client now: reconnect with backoff.
    Busy,
    /// 4400: the first frame is not the JSON hello: a client bug, do not reconnect.
    BadHello,
    /// 4401: no token, or an unknown one: do not reconnect with this token.
    Unauthorized,
    /// 4403: the token has no right on this document: do not reconnect with it.
    Forbidden,
    /// 4408: no first frame within `hello_timeout`: reconnect with backoff.
    HelloTimeout,
    /// 4409: another connection to this document uses this replica id: reconnect
    /// with backoff (the server notices a dead connection within `idle_timeout`).
    ReplicaInUse,
    /// 4422: the replica id is reserved (0, ≥ 2⁵³, a cluster leader's id or writer
    /// id): draw a new replica id; never retry this one.
    ReplicaReserved,
    /// 4430: a frame carried new updates of a writer this client does not own (a
    /// forged write): refused, nothing changed. A bug or an attack: do not reconnect.
    Forged,
    /// 4431: a client with a `read` token sent new updates: refused. Do not reconnect
    /// while local writes are pending (they would be refused again).
    ReadOnly,
}

impl WsClose {
    /// The close code.
    #[must_use]
    pub fn code(self) -> u16 {
        match self {
            Self::GoingAway => 1001,
            Self::Malformed => 1007,
            Self::TooLarge => 1009,
            Self::Internal => 1011,
            Self::Busy => 1013,
            Self::BadHello => 4400,
            Self::Unauthorized => 4401,
            Self::Forbidden => 4403,
            Self::HelloTimeout => 4408,
            Self::ReplicaInUse => 4409,
            Self::ReplicaReserved => 4422,
            Self::Forged => 4430,
            Self::ReadOnly => 4431,
        }
    }

    /// The metric label of this reason.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::GoingAway => "going_away",
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::Internal => "internal",
            Self::Busy => "busy",
            Self::BadHello => "bad_hello",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::HelloTimeout => "hello_timeout",
            Self::ReplicaInUse => "replica_in_use",
            Self::ReplicaReserved => "replica_reserved",
            Self::Forged => "forged",
            Self::ReadOnly => "read_only",
        }
    }

    /// Whether a client must stop reconnecting (with these credentials or this id).
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::BadHello
                | Self::Unauthorized
                | Self::Forbidden
                | Self::ReplicaReserved
                | Self::Forged
                | Self::ReadOnly
        )
    }
}

/// The client's first frame: `{"token":"…","replica":N}`, optionally with
/// `"incarnations":["…",…]`: earlier incarnations of the client whose writes it may
/// still deliver (decimal `u64` strings, at most [`INCARNATIONS_MAX`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hello {
    pub(crate) token: String,
    pub(crate) replica: u64,
    pub(crate) incarnations: Vec<Incarnation>,
}

#[derive(Deserialize)]
struct HelloJson {
    token: String,
    replica: u64,
    #[serde(default)]
    incarnations: Vec<String>,
}

/// Parses the first frame's text; `Err` says what is wrong (the close reason).
pub(crate) fn parse_hello(text: &str) -> Result<Hello, String> {
    if text.len() > WS_HELLO_BYTES_MAX {
        return Err(format!("hello over {WS_HELLO_BYTES_MAX} bytes"));
    }
    let h: HelloJson = serde_json::from_str(text).map_err(|_| {
        "expected {\"token\":\"...\",\"replica\":N} (\"incarnations\": decimal strings)".to_string()
    })?;
    if h.incarnations.len() >= INCARNATIONS_MAX {
        return Err(format!(
            "{} incarnations or more: at most {} besides the current one",
            INCARNATIONS_MAX,
            INCARNATIONS_MAX - 1
        ));
    }
    let mut incarnations = Vec::with_capacity(h.incarnations.len());
    for text in &h.incarnations {
        let inc = text
            .parse::<u64>()
            .ok()
            .filter(|v| v.to_string() == *text)
            .ok_or_else(|| format!("incarnation {text:?} is not a canonical decimal u64"))?;
        let inc = Incarnation::from_u64(inc);
        if !incarnations.contains(&inc) {
            incarnations.push(inc);
        }
    }
    Ok(Hello {
        token: h.token,
        replica: h.replica,
        incarnations,
    })
}

/// The server's answer to an accepted hello.
pub(crate) fn answer(server: u64, access: Access, limits: &WsLimits) -> String {
    serde_json::json!({
        "protocol": WS_PROTOCOL,
        "replica": server,
        "access": match access { Access::Read => "read", Access::Write => "write" },
        "frame_bytes_max": limits.frame_bytes_max,
        "frames_per_second_max": limits.frames_per_second_max,
    })
    .to_string()
}

/// A close reason cut to the 123 bytes a close frame holds, at a character boundary.
pub(crate) fn close_reason(text: &str) -> String {
    let mut end = text.len().min(123);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hellos_parse_or_say_what_is_wrong() {
        assert_eq!(
            parse_hello(r#"{"token":"abcdefgh","replica":7}"#),
            Ok(Hello {
                token: "abcdefgh".into(),
                replica: 7,
                incarnations: Vec::new(),
            })
        );
        assert_eq!(
            parse_hello(r#"{"token":"t","replica":7,"incarnations":["4294967296","9","9"]}"#)
                .map(|h| h.incarnations),
            Ok(vec![
                Incarnation::from_u64(1 << 32),
                Incarnation::from_u64(9)
            ])
        );
        let many: Vec<String> = (0..INCARNATIONS_MAX).map(|i| format!("\"{i}\"")).collect();
        let too_many = format!(
            r#"{{"token":"t","replica":7,"incarnations":[{}]}}"#,
            many.join(",")
        );
        assert!(parse_hello(&too_many).unwrap_err().contains("incarnations"));
        for bad in [
            "",
            "{}",
            r#"{"token":"abcdefgh"}"#,
            r#"{"token":"abcdefgh","replica":-1}"#,
            r#"{"token":"abcdefgh","replica":1.5}"#,
            r#"{"token":7,"replica":1}"#,
            r#"{"token":"t","replica":1,"incarnations":[5]}"#,
            r#"{"token":"t","replica":1,"incarnations":["05"]}"#,
            r#"{"token":"t","replica":1,"incarnations":["-1"]}"#,
            r#"{"token":"t","replica":1,"incarnations":["18446744073709551616"]}"#,
            "[1,2]",
        ] {
            assert!(parse_hello(bad).is_err(), "{bad}");
        }
        let long = format!(
            r#"{{"token":"{}","replica":1}}"#,
            "x".repeat(WS_HELLO_BYTES_MAX)
        );
        assert!(parse_hello(&long).unwrap_err().contains("bytes"));
    }

    #[test]
    fn close_reasons_fit_a_close_frame() {
        assert_eq!(close_reason("short"), "short");
        let r = close_reason(&"é".repeat(100));
        assert!(r.len() <= 123 && r.chars().all(|c| c == 'é'));
    }

    #[test]
    fn close_codes_are_distinct_and_final_ones_say_so() {
        let all = [
            WsClose::GoingAway,
            WsClose::Malformed,
            WsClose::TooLarge,
            WsClose::Internal,
            WsClose::Busy,
            WsClose::BadHello,
            WsClose::Unauthorized,
            WsClose::Forbidden,
            WsClose::HelloTimeout,
            WsClose::ReplicaInUse,
            WsClose::ReplicaReserved,
            WsClose::Forged,
            WsClose::ReadOnly,
        ];
        let mut codes: Vec<u16> = all.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(WsClose::Unauthorized.is_final() && !WsClose::ReplicaInUse.is_final());
        assert!(WsLimits::default().check().is_ok());
    }
}
