//! A write's answer on its way back to whoever asked: the embedding API's
//! [`WriteReceipt`] with the key's value, or the HTTP API's with that value already in
//! JSON.
//!
//! The HTTP contract answers every write with the key's whole value, so a set of
//! thousands of elements is read on every insert. The driver renders it as JSON
//! straight from the strings the keyspace holds ([`crdt_core::ValueRef`]) instead of
//! copying each element into a [`Value`] that the handler then serializes and frees:
//! one buffer instead of an allocation per element (`docs/bench/notes.md`).

use crate::error::Error;
use crate::node::WriteReceipt;
use crate::token::CausalToken;
use crdt_core::{Value, ValueRef};
use tokio::sync::oneshot;

type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// A write's answer for the HTTP API.
#[derive(Debug)]
pub(crate) struct JsonReceipt {
    /// The document's causal token right after the write.
    pub(crate) token: CausalToken,
    /// The answer's body.
    pub(crate) body: JsonBody,
}

/// A write's answer body as the HTTP API sends it.
#[derive(Debug)]
pub(crate) enum JsonBody {
    /// The whole body, `{"token":T,"value":V}`, as `serde_json` writes it.
    Rendered(String),
    /// A type conflict (several types' values; rare): the handler writes the body
    /// with its `conflict` fields from it.
    Conflict(Value),
}

impl JsonBody {
    /// The answer to a write that left `v` and `token`: rendered into one buffer,
    /// which the handler sends as it is. Absent renders as `[]`: the only write that
    /// leaves a key absent is an OR-Set remove of its last element (or of an element
    /// of a key that holds nothing), and its value is the empty set.
    pub(crate) fn of(token: &CausalToken, v: Option<&ValueRef<'_>>) -> Self {
        let value_bytes = match v {
            Some(c @ ValueRef::Conflict(_)) => return Self::Conflict(c.to_value()),
            Some(ValueRef::OrSet(v) | ValueRef::MvRegister(v)) => {
                v.iter().map(|s| s.len() + 3).sum::<usize>() + 2
            }
            Some(ValueRef::LwwRegister(s)) => s.len() + 2,
            _ => 20,
        };
        // A token is hexadecimal: quoted as is, it is what `serde_json` writes.
        let mut out = String::with_capacity(value_bytes + token.hex_len() + 22);
        out.push_str("{\"token\":\"");
        token.push_hex(&mut out);
        out.push_str("\",\"value\":");
        match v {
            None => out.push_str("[]"),
            Some(ValueRef::GCounter(n)) => out.push_str(&n.to_string()),
            Some(ValueRef::PnCounter(n)) => out.push_str(&n.to_string()),
            Some(ValueRef::OrSet(v) | ValueRef::MvRegister(v)) => {
                // Most elements need no escape: quote them all as they are, then check
                // the text in one pass, and only if an element held a byte that needs
                // an escape write them again through `push_json_string`. Checking each
                // element on its own took half of the rendering.
                let start = out.len();
                push_array(&mut out, v, push_quoted);
                if !needs_no_escape(&out.as_bytes()[start..], 2 * v.len()) {
                    out.truncate(start);
                    push_array(&mut out, v, push_json_string);
                }
            }
            Some(ValueRef::LwwRegister(s)) => push_json_string(&mut out, s),
            Some(ValueRef::Conflict(_)) => {} // (answered above)
        }
        out.push('}');
        Self::Rendered(out)
    }
}

/// Appends `v` as a JSON array, each element written by `push`.
fn push_array(out: &mut String, v: &[&str], push: impl Fn(&mut String, &str)) {
    out.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push(out, s);
    }
    out.push(']');
}

/// Whether `text`, an array of strings quoted as they are, is already what
/// `serde_json` writes: no byte in it needs an escape (a control character or a
/// backslash) and its only quotes are the `quotes` that delimit the elements. One
/// branch-free pass per 64 bytes, which the compiler vectorizes.
fn needs_no_escape(text: &[u8], quotes: usize) -> bool {
    let (mut seen, mut bad) = (0usize, false);
    for chunk in text.chunks(64) {
        let (mut q, mut b) = (0u8, false);
        for &c in chunk {
            q += u8::from(c == b'"');
            b |= (c < 0x20) | (c == b'\\');
        }
        seen += usize::from(q);
        bad |= b;
    }
    !bad && seen == quotes
}

/// Appends `s` as a JSON string, as `serde_json` writes it: quoted as is unless it
/// holds a byte that needs an escape (a control character, `"` or `\`), which only
/// `serde_json` then writes. A set's answer is every element: most need no escape.
fn push_json_string(out: &mut String, s: &str) {
    // `serde_json` fails only on maps with non-string keys and on failing `Serialize`
    // impls, so a string always serializes.
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    } else {
        push_quoted(out, s);
    }
}

/// Appends `s` between quotes, unescaped.
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}

/// Where a write's answer goes, and in which form.
pub(crate) enum WriteReply {
    /// [`NodeHandle::write`](crate::NodeHandle::write) and `delete`: the owned value.
    Value(Reply<WriteReceipt>),
    /// The HTTP API: the value in JSON.
    Json(Reply<JsonReceipt>),
}

impl WriteReply {
    /// Answers with `e` now (the write was refused; nothing to wait for).
    pub(crate) fn fail(self, e: Error) {
        match self {
            Self::Value(r) => {
                let _ = r.send(Err(e));
            }
            Self::Json(r) => {
                let _ = r.send(Err(e));
            }
        }
    }

    /// Whether the answer carries the owned value.
    pub(crate) fn wants_value(&self) -> bool {
        matches!(self, Self::Value(_))
    }

    /// The answer to send once the write is durable: `value` is the key's value after
    /// the write, `owned` the same as a [`Value`] when [`WriteReply::wants_value`].
    pub(crate) fn pending(
        self,
        token: CausalToken,
        value: Option<&ValueRef<'_>>,
        owned: Option<Value>,
    ) -> PendingAnswer {
        match self {
            Self::Value(r) => PendingAnswer::Value(
                r,
                WriteReceipt {
                    token,
                    value: owned,
                },
            ),
            Self::Json(r) => PendingAnswer::Json(
                r,
                JsonReceipt {
                    body: JsonBody::of(&token, value),
                    token,
                },
            ),
        }
    }
}

/// A write's answer waiting for the commit of the log entry that holds the write.
pub(crate) enum PendingAnswer {
    /// For the embedding API.
    Value(Reply<WriteReceipt>, WriteReceipt),
    /// For the HTTP API.
    Json(Reply<JsonReceipt>, JsonReceipt),
}

impl PendingAnswer {
    /// Sends the answer, or the commit's failure.
    pub(crate) fn send(self, committed: Result<(), Error>) {
        match self {
            Self::Value(r, receipt) => {
                let _ = r.send(committed.map(|()| receipt));
            }
            Self::Json(r, receipt) => {
                let _ = r.send(committed.map(|()| receipt));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{needs_no_escape, push_array, push_json_string, push_quoted};

    fn quoted(v: &[&str]) -> String {
        let mut out = String::new();
        push_array(&mut out, v, push_quoted);
        out
    }

    #[test]
    fn an_array_needs_no_escape_only_without_control_bytes_backslashes_or_inner_quotes() {
        // Long enough to span several of the check's 64-byte chunks.
        let plain: Vec<String> = (0..40).map(|i| format!("plain élément {i}")).collect();
        for odd in [
            "",
            "ä 🦀",
            "\u{7f}",
            "</script>",
            "a\"b",
            "\"",
            "a\\b",
            "\u{1f}",
            "\n",
            "\u{0}",
        ] {
            for at in [0, 17, 40] {
                let mut v: Vec<&str> = plain.iter().map(String::as_str).collect();
                v.insert(at, odd);
                let text = quoted(&v);
                let mut serde = String::new();
                push_array(&mut serde, &v, push_json_string);
                assert_eq!(
                    needs_no_escape(text.as_bytes(), 2 * v.len()),
                    text == serde,
                    "{odd:?} at {at}"
                );
            }
        }
        assert!(needs_no_escape(b"[]", 0));
        assert!(!needs_no_escape(b"[\"a\"]", 0));
    }
}
