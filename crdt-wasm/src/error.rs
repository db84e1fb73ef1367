//! Why a call from JavaScript was refused.
//!
//! Every fallible method returns [`Error`]; the wasm-bindgen layer turns it into a
//! thrown JS `Error` carrying [`Error`]'s `Display` text (via `JsError`'s
//! `From<E: Error>`). Each message names the argument, what was wrong with it and what
//! to do instead. A refused call leaves the object unchanged.

use core::fmt;
use crdt_core::codec::DecodeError;
use crdt_core::CoreError;
use crdt_sync::SyncError;

/// What to do about an encoding over this binding's fixed decode limits.
const SEND_DELTAS: &str =
    "exchange deltas (the mutators' return values) instead of encodings of states this large";

/// Which argument of a call an [`Error`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A replica id (constructor and `decode`).
    ReplicaId,
    /// The `n` of `increment(n)` / `decrement(n)`.
    Amount,
    /// The `nowMs` of `LwwRegister.set(value, nowMs)`.
    Timestamp,
    /// An element of an `OrSet`: a string.
    StringElement,
    /// An element of an `OrSetU64`: an integer number or a BigInt.
    U64Element,
    /// The value written to an `LwwRegister`.
    Value,
    /// The bytes given to `merge` / `decode` (and `Doc`'s `receive`, `restore`, ...).
    Bytes,
    /// A key of a `Doc`.
    Key,
    /// The id of a `Doc`'s peer (`addPeer`, `receive`).
    PeerId,
    /// The entropy given to `Doc.restore`.
    Nonce,
}

impl Arg {
    /// The argument's name as the JS API documents it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Arg::ReplicaId => "replica id",
            Arg::Amount => "amount n",
            Arg::Timestamp => "timestamp nowMs",
            Arg::StringElement | Arg::U64Element => "element",
            Arg::Value => "value",
            Arg::Bytes => "bytes",
            Arg::Key => "key",
            Arg::PeerId => "peer id",
            Arg::Nonce => "nonce",
        }
    }

    /// The largest string accepted for this argument where sizes are bounded, in bytes
    /// of UTF-8: [`KEY_BYTES_MAX`](crdt_core::KEY_BYTES_MAX) for keys,
    /// [`MAX_STRING_BYTES`](crate::text::MAX_STRING_BYTES) otherwise.
    #[must_use]
    pub const fn max_bytes(self) -> usize {
        match self {
            Arg::Key => crdt_core::KEY_BYTES_MAX,
            _ => crate::text::MAX_STRING_BYTES,
        }
    }

    /// What to do about an argument over its size limit.
    const fn size_advice(self) -> &'static str {
        match self {
            Arg::StringElement => "store large data elsewhere and insert a key or hash of it",
            Arg::Value => "store large data elsewhere and set a key or hash of it",
            Arg::Bytes => SEND_DELTAS,
            Arg::Key => "use a shorter key (e.g. a hash of the long one)",
            Arg::ReplicaId
            | Arg::Amount
            | Arg::Timestamp
            | Arg::U64Element
            | Arg::PeerId
            | Arg::Nonce => "pass a smaller value",
        }
    }

    /// What to pass instead.
    const fn advice(self) -> &'static str {
        match self {
            Arg::ReplicaId => "use an integer in 0..=Number.MAX_SAFE_INTEGER that no other live replica uses, e.g. Math.floor(Math.random() * Number.MAX_SAFE_INTEGER), and keep it with the replica's state",
            Arg::Amount => "pass a whole number of steps in 0..=Number.MAX_SAFE_INTEGER (omit it for 1); split larger amounts over several calls",
            Arg::Timestamp => "pass the wall clock in milliseconds as an integer, e.g. Date.now()",
            Arg::StringElement => "pass a string (OrSetU64 holds integers)",
            Arg::U64Element => "pass an integer in 0..=Number.MAX_SAFE_INTEGER, or a BigInt in 0n..=2n**64n-1n (OrSet holds strings)",
            Arg::Value => "pass a string",
            Arg::Bytes => "pass the Uint8Array returned by a mutator or by encode()",
            Arg::Key => "pass a string of at most 4096 bytes of UTF-8",
            Arg::PeerId => "pass the replica id of the peer, an integer in 0..=Number.MAX_SAFE_INTEGER",
            Arg::Nonce => "pass 64 random bits as a BigInt, e.g. crypto.getRandomValues(new BigUint64Array(1))[0]",
        }
    }
}

/// What is wrong with a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// `NaN`.
    NaN,
    /// `Infinity` or `-Infinity`.
    Infinite,
    /// Below 0.
    Negative,
    /// Not a whole number.
    Fractional,
    /// Above `Number.MAX_SAFE_INTEGER` (2^53 - 1), where JS numbers stop being exact.
    AboveMaxSafe,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::NaN => "it is NaN",
            Problem::Infinite => "it is infinite",
            Problem::Negative => "it is negative",
            Problem::Fractional => "it is not a whole number",
            Problem::AboveMaxSafe => {
                "it is above Number.MAX_SAFE_INTEGER (2^53 - 1), where numbers are no longer exact"
            }
        })
    }
}

/// Why a call was refused. The object it was made on is unchanged.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An argument has the wrong JavaScript type.
    WrongType {
        /// The argument.
        arg: Arg,
        /// The type the API takes.
        expected: &'static str,
        /// The JS type found (`typeof`, or `null`).
        found: String,
    },
    /// A number argument is not an integer in the accepted range.
    BadNumber {
        /// The argument.
        arg: Arg,
        /// The number given.
        value: f64,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A BigInt argument is outside `0..=2^64-1`.
    BigIntOutOfRange {
        /// The argument.
        arg: Arg,
    },
    /// A string contains a lone UTF-16 surrogate, which has no UTF-8 form: storing it
    /// would silently replace it with U+FFFD and merge distinct strings.
    IllFormedString {
        /// The argument.
        arg: Arg,
    },
    /// A string or byte array is larger than this binding accepts.
    TooLarge {
        /// The argument.
        arg: Arg,
        /// Its size (UTF-16 code units or UTF-8 bytes for strings, bytes otherwise).
        size: usize,
        /// The most accepted, in the same unit.
        max: usize,
    },
    /// The bytes given to `merge` / `decode` were rejected by `crdt-core`'s decoder.
    Decode {
        /// The JS class that was decoding.
        class: &'static str,
        /// The decoder's reason (its message says what to do).
        source: DecodeError,
    },
    /// `crdt-core` refused the mutation (a counter at `u64::MAX`, an exhausted replica
    /// id or clock).
    Refused(CoreError),
    /// A value held by the state cannot be returned as a JS number without losing
    /// precision (only states merged from non-JS replicas can hold such values).
    Unrepresentable {
        /// What was read.
        what: &'static str,
        /// The exact value, in decimal.
        value: String,
        /// The method that returns it exactly.
        instead: &'static str,
    },
    /// The state could not be encoded (an element's serializer failed; never happens for
    /// strings and integers).
    Encode(String),
    /// `crdt-sync`'s leader behind a `Doc` refused a message, a snapshot or a write.
    Sync(SyncError),
    /// A snapshot given to `Doc.restore` names a replica id JavaScript cannot hold
    /// exactly (above `Number.MAX_SAFE_INTEGER`).
    UnsafeId {
        /// The id.
        id: u64,
    },
    /// `Doc.persisted(bytes)` was given other bytes than the snapshot the `Doc` waits
    /// for.
    NotLatestSnapshot,
}

/// 2^53 - 1 as a float: whole numbers up to it print exactly as integers.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// `x` as JavaScript would print it for the integers and special values met here, and
/// as Rust's `{}` (`{:e}` from 1e21 on) prints the others: the shortest digits that
/// read back as `x`.
///
/// Only [`shortest_digits`] depends on the target: the digits come from JavaScript's
/// `Number.prototype.toString` in wasm and from Rust's formatting natively, both the
/// shortest round-trip digits. That keeps `core`'s float formatting (about 20 KB of
/// Grisu and Dragon4 code and tables) out of the `.wasm` (docs/WASM.md, "Size").
fn fmt_number(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        return f.write_str("NaN");
    }
    if x.is_infinite() {
        return f.write_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if x == 0.0 {
        return f.write_str(if x.is_sign_negative() { "-0" } else { "0" });
    }
    if x.fract() == 0.0 && x.abs() <= MAX_SAFE {
        // Exact, and the shortest digits: a whole number below 2^53 fits an i64.
        return write!(f, "{}", x as i64);
    }
    let text = shortest_digits(x);
    let Some((negative, digits, exp)) = parse_decimal(&text) else {
        // Not reached: both sources print plain decimal or exponent notation.
        return f.write_str(&text);
    };
    if negative {
        f.write_str("-")?;
    }
    let (first, rest) = digits.split_at(1);
    if x.abs() >= 1e21 {
        // Rust's `{:e}`: d[.ddd]eN
        f.write_str(first)?;
        if !rest.is_empty() {
            write!(f, ".{rest}")?;
        }
        write!(f, "e{exp}")
    } else if exp < 0 {
        // 0.000ddd
        f.write_str("0.")?;
        for _ in 0..(-exp - 1) {
            f.write_str("0")?;
        }
        f.write_str(&digits)
    } else {
        // ddd.ddd, or ddd000 for a whole number (only its shortest digits are printed).
        let point = usize::try_from(exp).map_or(0, |e| e + 1);
        if digits.len() <= point {
            f.write_str(&digits)?;
            for _ in digits.len()..point {
                f.write_str("0")?;
            }
            Ok(())
        } else {
            let (int, frac) = digits.split_at(point);
            write!(f, "{int}.{frac}")
        }
    }
}

/// The shortest digits that read back as `x`, in decimal or exponent notation.
#[cfg(target_arch = "wasm32")]
fn shortest_digits(x: f64) -> String {
    js_sys::Number::from(x)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default()
}

/// The shortest digits that read back as `x`, in exponent notation.
#[cfg(not(target_arch = "wasm32"))]
fn shortest_digits(x: f64) -> String {
    format!("{x:e}")
}

/// `[-]I[.F][e[+-]X]` as (negative, significant digits without leading or trailing
/// zeros, exponent of the first digit), e.g. `"-0.0015"` → `(true, "15", -3)`.
fn parse_decimal(text: &str) -> Option<(bool, String, i32)> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.strip_prefix('+').unwrap_or(e).parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let all: String = int.chars().chain(frac.chars()).collect();
    let leading = all.bytes().take_while(|&b| b == b'0').count();
    let digits = all[leading..].trim_end_matches('0');
    if digits.is_empty() {
        return None;
    }
    let int_len = i32::try_from(int.len()).ok()?;
    let leading = i32::try_from(leading).ok()?;
    Some((negative, digits.to_string(), exp + int_len - leading - 1))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WrongType {
                arg,
                expected,
                found,
            } => write!(
                f,
                "{} must be {expected}, not {found}: {}",
                arg.name(),
                arg.advice()
            ),
            Error::BadNumber {
                arg,
                value,
                problem,
            } => {
                write!(f, "invalid {}: ", arg.name())?;
                fmt_number(f, *value)?;
                write!(f, " is not accepted because {problem}: {}", arg.advice())
            }
            Error::BigIntOutOfRange { arg } => write!(
                f,
                "invalid {}: the BigInt is outside 0n..=2n**64n-1n: {}",
                arg.name(),
                arg.advice()
            ),
            Error::IllFormedString { arg } => write!(
                f,
                "invalid {}: the string contains a lone UTF-16 surrogate, which cannot be stored without changing it: fix the string (String.prototype.toWellFormed() replaces lone surrogates with U+FFFD)",
                arg.name()
            ),
            Error::TooLarge { arg, size, max } => write!(
                f,
                "{} too large ({size} > {max}): {}",
                arg.name(),
                arg.size_advice()
            ),
            // crdt-core advises larger `DecodeLimits`, which JS callers cannot set.
            Error::Decode {
                class,
                source: DecodeError::LimitExceeded { limit, max, found },
            } => write!(
                f,
                "{class}: cannot use these bytes: {limit} limit exceeded ({found} > {max}) and this binding's limits are fixed: {SEND_DELTAS}"
            ),
            Error::Decode { class, source } => {
                write!(f, "{class}: cannot use these bytes: {source}")
            }
            Error::Refused(e) => write!(f, "refused: {e}"),
            Error::Unrepresentable {
                what,
                value,
                instead,
            } => write!(
                f,
                "{what} {value} is outside -(2^53 - 1)..=Number.MAX_SAFE_INTEGER (2^53 - 1) and cannot be returned as a number without losing precision: read it with {instead}()"
            ),
            Error::Encode(e) => write!(
                f,
                "cannot encode the state: {e}: this is a bug in crdt-wasm, please report it"
            ),
            Error::Sync(e) => fmt_sync(f, e),
            Error::UnsafeId { id } => write!(
                f,
                "Doc: the snapshot names replica id {id}, above Number.MAX_SAFE_INTEGER, which JavaScript cannot hold exactly: restore it in Rust (crdt_sync::Leader::restore), and give JavaScript replicas ids in 0..=Number.MAX_SAFE_INTEGER"
            ),
            Error::NotLatestSnapshot => f.write_str(
                "Doc: these bytes are not the latest snapshot() of this Doc's new incarnation, so they do not make it writable: store the bytes of the latest snapshot() and pass those",
            ),
        }
    }
}

/// A [`SyncError`] in the words of the JavaScript API (the leader's own messages name
/// Rust methods where they say what to do).
fn fmt_sync(f: &mut fmt::Formatter<'_>, e: &SyncError) -> fmt::Result {
    match e {
        SyncError::CheckpointRequired => f.write_str(
            "Doc: this restored Doc has not stored its new incarnation yet, so it cannot write: store doc.snapshot() durably, pass those bytes to doc.persisted(bytes), then write",
        ),
        SyncError::Restoring => f.write_str(
            "Doc: this restored Doc is still asking its peers which incarnations of it they have seen, so it cannot write yet: keep delivering messages (pollTransmit, receive) and calling tick(), and removePeer(id) a peer gone for good",
        ),
        SyncError::ReplicaIdConflict { replica } => write!(
            f,
            "Doc: another replica writes under this Doc's writer id {replica} (a second live copy, or a copy that outlived the snapshot this Doc was restored from), so writes are refused: stop using this Doc and create a new one under a fresh replica id"
        ),
        SyncError::UnknownPeer(p) => write!(
            f,
            "Doc: message from {p}, which is not a peer of this Doc: call addPeer({p}) first, or drop traffic from unknown replicas"
        ),
        SyncError::SelfPeer => {
            f.write_str("Doc: a Doc cannot be its own peer: pass the id of another replica")
        }
        other => write!(f, "Doc: {other}"),
    }
}

impl std::error::Error for Error {}

impl From<CoreError> for Error {
    fn from(e: CoreError) -> Self {
        Error::Refused(e)
    }
}

impl From<SyncError> for Error {
    /// A refused write keeps `crdt-core`'s reason; a malformed snapshot or message is a
    /// decode error of `Doc`'s bytes; the rest are the leader's own refusals.
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Refused(c) => Error::Refused(c),
            SyncError::Decode(source) => Error::Decode {
                class: "Doc",
                source,
            },
            other => Error::Sync(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_argument_and_the_remedy() {
        let e = Error::BadNumber {
            arg: Arg::ReplicaId,
            value: -1.0,
            problem: Problem::Negative,
        };
        let m = e.to_string();
        assert!(m.starts_with("invalid replica id: -1 is not accepted because it is negative"));
        assert!(m.contains("Math.random"));

        let e = Error::BadNumber {
            arg: Arg::Amount,
            value: 1e300,
            problem: Problem::AboveMaxSafe,
        };
        assert!(e.to_string().contains("1e300"), "{e}");

        let e = Error::WrongType {
            arg: Arg::Bytes,
            expected: "a Uint8Array",
            found: "string".into(),
        };
        assert_eq!(
            e.to_string(),
            "bytes must be a Uint8Array, not string: pass the Uint8Array returned by a mutator or by encode()"
        );
    }

    #[test]
    fn every_message_says_what_to_do() {
        let all = [
            Error::WrongType {
                arg: Arg::Timestamp,
                expected: "a number",
                found: "object".into(),
            },
            Error::BadNumber {
                arg: Arg::U64Element,
                value: f64::NAN,
                problem: Problem::NaN,
            },
            Error::BigIntOutOfRange {
                arg: Arg::U64Element,
            },
            Error::IllFormedString { arg: Arg::Value },
            Error::TooLarge {
                arg: Arg::Bytes,
                size: 2,
                max: 1,
            },
            Error::Decode {
                class: "GCounter",
                source: DecodeError::BadVarint,
            },
            Error::Refused(CoreError::ClockExhausted),
            Error::Unrepresentable {
                what: "the element",
                value: "18446744073709551615".into(),
                instead: "valuesBigInt",
            },
            Error::Encode("boom".into()),
            Error::Sync(SyncError::CheckpointRequired),
            Error::Sync(SyncError::Restoring),
            Error::Sync(SyncError::ReplicaIdConflict {
                replica: crdt_core::ReplicaId::new(7),
            }),
            Error::Sync(SyncError::UnknownPeer(crdt_core::ReplicaId::new(7))),
            Error::Sync(SyncError::SelfPeer),
            Error::Sync(SyncError::Corrupt),
            Error::UnsafeId { id: 1 << 60 },
            Error::NotLatestSnapshot,
            Error::TooLarge {
                arg: Arg::Key,
                size: 4097,
                max: 4096,
            },
            Error::WrongType {
                arg: Arg::Nonce,
                expected: "a number or a BigInt",
                found: "string".into(),
            },
            Error::WrongType {
                arg: Arg::PeerId,
                expected: "a number",
                found: "string".into(),
            },
        ];
        for e in all {
            let m = e.to_string();
            // "<what is wrong>: <what to do>"
            let (_, remedy) = m.rsplit_once(": ").expect("a remedy after a colon");
            assert!(remedy.len() > 10, "{m}");
        }
    }

    /// Every message an export can throw, exactly: the advice must fit the argument and
    /// the class (a string set must not advise integers, nor a JS caller DecodeLimits).
    #[test]
    fn every_message_exactly() {
        let wrong = |arg, expected: &'static str, found: &str| Error::WrongType {
            arg,
            expected,
            found: found.into(),
        };
        let cases: Vec<(Error, &str)> = vec![
            (
                wrong(Arg::StringElement, "a string", "number"),
                "element must be a string, not number: pass a string (OrSetU64 holds integers)",
            ),
            (
                wrong(Arg::U64Element, "a number or a BigInt", "string"),
                "element must be a number or a BigInt, not string: pass an integer in \
                 0..=Number.MAX_SAFE_INTEGER, or a BigInt in 0n..=2n**64n-1n (OrSet holds strings)",
            ),
            (
                Error::BadNumber {
                    arg: Arg::U64Element,
                    value: -1.0,
                    problem: Problem::Negative,
                },
                "invalid element: -1 is not accepted because it is negative: pass an integer \
                 in 0..=Number.MAX_SAFE_INTEGER, or a BigInt in 0n..=2n**64n-1n (OrSet holds strings)",
            ),
            (
                Error::BigIntOutOfRange {
                    arg: Arg::U64Element,
                },
                "invalid element: the BigInt is outside 0n..=2n**64n-1n: pass an integer in \
                 0..=Number.MAX_SAFE_INTEGER, or a BigInt in 0n..=2n**64n-1n (OrSet holds strings)",
            ),
            (
                Error::BadNumber {
                    arg: Arg::Timestamp,
                    value: f64::NEG_INFINITY,
                    problem: Problem::Infinite,
                },
                "invalid timestamp nowMs: -Infinity is not accepted because it is infinite: \
                 pass the wall clock in milliseconds as an integer, e.g. Date.now()",
            ),
            (
                wrong(Arg::Value, "a string", "undefined"),
                "value must be a string, not undefined: pass a string",
            ),
            (
                wrong(Arg::ReplicaId, "a number", "bigint"),
                "replica id must be a number, not bigint: use an integer in \
                 0..=Number.MAX_SAFE_INTEGER that no other live replica uses, e.g. \
                 Math.floor(Math.random() * Number.MAX_SAFE_INTEGER), and keep it with the \
                 replica's state",
            ),
            (
                Error::BadNumber {
                    arg: Arg::Amount,
                    value: 1.5,
                    problem: Problem::Fractional,
                },
                "invalid amount n: 1.5 is not accepted because it is not a whole number: pass \
                 a whole number of steps in 0..=Number.MAX_SAFE_INTEGER (omit it for 1); split \
                 larger amounts over several calls",
            ),
            (
                wrong(Arg::Timestamp, "a number", "object"),
                "timestamp nowMs must be a number, not object: pass the wall clock in \
                 milliseconds as an integer, e.g. Date.now()",
            ),
            (
                Error::IllFormedString {
                    arg: Arg::StringElement,
                },
                "invalid element: the string contains a lone UTF-16 surrogate, which cannot be \
                 stored without changing it: fix the string (String.prototype.toWellFormed() \
                 replaces lone surrogates with U+FFFD)",
            ),
            (
                Error::TooLarge {
                    arg: Arg::StringElement,
                    size: 1_048_577,
                    max: 1_048_576,
                },
                "element too large (1048577 > 1048576): store large data elsewhere and insert \
                 a key or hash of it",
            ),
            (
                Error::TooLarge {
                    arg: Arg::Value,
                    size: 1_048_577,
                    max: 1_048_576,
                },
                "value too large (1048577 > 1048576): store large data elsewhere and set a key \
                 or hash of it",
            ),
            (
                Error::TooLarge {
                    arg: Arg::Bytes,
                    size: 67_108_865,
                    max: 67_108_864,
                },
                "bytes too large (67108865 > 67108864): exchange deltas (the mutators' return \
                 values) instead of encodings of states this large",
            ),
            (
                wrong(Arg::Bytes, "a Uint8Array", "an Array"),
                "bytes must be a Uint8Array, not an Array: pass the Uint8Array returned by a \
                 mutator or by encode()",
            ),
            (
                Error::Decode {
                    class: "OrSet",
                    source: DecodeError::LimitExceeded {
                        limit: crdt_core::codec::Limit::Elements,
                        max: 8_388_608,
                        found: 8_388_609,
                    },
                },
                "OrSet: cannot use these bytes: element count (max_elements) limit exceeded \
                 (8388609 > 8388608) and this binding's limits are fixed: exchange deltas (the \
                 mutators' return values) instead of encodings of states this large",
            ),
            (
                Error::Refused(CoreError::CounterOverflow {
                    replica: crdt_core::ReplicaId::new(1),
                }),
                "refused: counter of replica 1 would exceed u64::MAX, so the change was refused \
                 and the counter is unchanged: spread larger totals over several counters",
            ),
            (
                Error::Unrepresentable {
                    what: "the element",
                    value: "9007199254740992".into(),
                    instead: "valuesBigInt",
                },
                "the element 9007199254740992 is outside -(2^53 - 1)..=Number.MAX_SAFE_INTEGER \
                 (2^53 - 1) and cannot be returned as a number without losing precision: read \
                 it with valuesBigInt()",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn sync_errors_are_sorted_by_kind() {
        assert_eq!(
            Error::from(SyncError::Refused(CoreError::ClockExhausted)),
            Error::Refused(CoreError::ClockExhausted)
        );
        assert_eq!(
            Error::from(SyncError::Decode(DecodeError::Truncated)),
            Error::Decode {
                class: "Doc",
                source: DecodeError::Truncated
            }
        );
        assert_eq!(
            Error::from(SyncError::Corrupt),
            Error::Sync(SyncError::Corrupt)
        );
        // Messages name the JS methods, not the Rust ones.
        let m = Error::Sync(SyncError::CheckpointRequired).to_string();
        assert!(
            m.contains("doc.persisted(bytes)") && !m.contains("Leader::"),
            "{m}"
        );
    }

    /// Numbers print as before this formatter replaced `{}` / `{:e}` (and as JavaScript
    /// prints them, up to `e+` and the expansion of small fractions).
    #[test]
    fn numbers_print_as_rust_does() {
        let show = |x: f64| {
            let e = Error::BadNumber {
                arg: Arg::Amount,
                value: x,
                problem: Problem::Fractional,
            };
            let m = e.to_string();
            let m = m.strip_prefix("invalid amount n: ").unwrap().to_string();
            m.split_once(" is not accepted").unwrap().0.to_string()
        };
        let rust = |x: f64| {
            if x.is_infinite() {
                (if x > 0.0 { "Infinity" } else { "-Infinity" }).to_string()
            } else if x.abs() >= 1e21 {
                format!("{x:e}")
            } else {
                format!("{x}")
            }
        };
        let cases = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            -1.5,
            0.5,
            0.1,
            0.2 + 0.1,
            1e-7,
            -1.5e-7,
            123.456,
            1e20,
            9.007_199_254_740_992e15,
            1e21,
            1.5e21,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            4_503_599_627_370_495.5,
            1234.5e-10,
            1e-6,
            1.25e-6,
            -1.610_327_641_151_702_4e19,
            -1.5e300,
            -0.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for x in cases {
            assert_eq!(show(x), rust(x), "{x:?}");
        }
        // And a spread of bit patterns (a fixed xorshift sequence).
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if !x.is_nan() {
                assert_eq!(show(x), rust(x), "{x:?}");
            }
        }
        assert_eq!(show(f64::NAN), "NaN");
        assert_eq!(show(1e300), "1e300");
        assert_eq!(show(1e-7), "0.0000001");
        // JavaScript's spellings of the same digits parse to the same parts.
        assert_eq!(parse_decimal("1e+300"), Some((false, "1".into(), 300)));
        assert_eq!(parse_decimal("-1.5e-7"), Some((true, "15".into(), -7)));
        assert_eq!(parse_decimal("0.000001"), Some((false, "1".into(), -6)));
        assert_eq!(parse_decimal("123.456"), Some((false, "123456".into(), 2)));
        assert_eq!(parse_decimal("1.7976931348623157e+308").unwrap().2, 308);
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("0"), None);
    }

    #[test]
    fn decode_errors_keep_the_decoders_advice() {
        let e = Error::Decode {
            class: "OrSet",
            source: DecodeError::Truncated,
        };
        let m = e.to_string();
        assert!(m.starts_with("OrSet: cannot use these bytes: input is truncated"));
        assert!(m.contains("resend the whole encoding"));
    }
}
