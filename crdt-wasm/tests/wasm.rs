//! wasm-bindgen-test suite: crdt-wasm's JS-facing methods compiled to `wasm32` and run
//! inside real JavaScript engines, once under Node and once under headless Chromium
//! (`bash scripts/wasm.sh wbtest`; docs/WASM.md, "wasm-bindgen-test").
//!
//! Each test calls the `#[wasm_bindgen]` methods (`js_*`) with JavaScript values made
//! by the engine (numbers, strings, BigInts, `Uint8Array`s, values parsed by
//! `JSON.parse`) and checks what they return and throw: `Doc`s syncing through
//! `pollTransmit`/`receive`, restore with a nonce, refusals as JS `Error`s that leave
//! the object working, the shared vector of encodings (`vectors/doc_ops.json`), and
//! each per-type class. The generated JS glue around these methods is tested on the
//! package by the Node tests (`*.test.mjs`).
//!
//! The suite is not configured for one environment (`wasm_bindgen_test_configure!`
//! would fix it at compile time): the runner picks Node by default and the browser
//! when `WASM_BINDGEN_USE_BROWSER=1` is set, so the same binary runs in both.
//! On other targets this file compiles to nothing.
#![cfg(target_arch = "wasm32")]

use crdt_wasm::{Doc, GCounter, LwwRegister, OrSet, OrSetU64, PnCounter};
use js_sys::{Array, BigInt, JsString, Reflect, Uint8Array, JSON};
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

/// The vector the native `tests/byte_compat.rs` writes and checks.
const VECTOR: &str = include_str!("vectors/doc_ops.json");
include!("vectors/calls.rs");

const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

fn n(x: f64) -> JsValue {
    JsValue::from_f64(x)
}

fn s(x: &str) -> JsValue {
    JsValue::from_str(x)
}

fn u8s(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn get(obj: &JsValue, field: &str) -> JsValue {
    Reflect::get(obj, &s(field)).expect("a readable property")
}

/// `JSON.stringify(v)`, for comparing JS values.
fn json(v: &JsValue) -> String {
    JSON::stringify(v)
        .expect("JSON.stringify")
        .as_string()
        .expect("a string")
}

/// The message of the JS `Error` that a refused call throws. Fails the test if the
/// call succeeded or threw anything but an `Error`.
fn thrown<T>(r: Result<T, JsError>) -> String {
    let Err(e) = r else {
        panic!("the call was accepted; it should have thrown");
    };
    let v = JsValue::from(e);
    let e = v
        .dyn_ref::<js_sys::Error>()
        .unwrap_or_else(|| panic!("threw {v:?}, not an Error"));
    e.message().into()
}

/// Asserts that `r` threw an `Error` whose message contains `part`.
fn refused<T>(r: Result<T, JsError>, part: &str) {
    let msg = thrown(r);
    assert!(
        msg.contains(part),
        "message {msg:?} does not contain {part:?}"
    );
}

/// Everything observable about a Doc, to check that a refused call changed nothing.
fn doc_state(d: &mut Doc) -> String {
    let keys = d.js_keys(&JsValue::UNDEFINED).expect("keys");
    let values: Array = keys
        .iter()
        .map(|k| {
            let v = d.js_get(&k).expect("get");
            Array::of3(&k, &d.js_type_of(&k).expect("typeOf").into(), &v)
        })
        .collect();
    format!(
        "{} {} {} {} {}",
        hex(&d.js_snapshot()),
        hex(&d.js_causal_token().expect("token")),
        json(&values.into()),
        json(&d.js_peers().into()),
        d.js_write_status(),
    )
}

/// Two Docs that are each other's peer.
fn pair(a: f64, b: f64) -> (Doc, Doc) {
    let mut x = Doc::js_new(&n(a), &JsValue::UNDEFINED).expect("new Doc");
    let mut y = Doc::js_new(&n(b), &JsValue::UNDEFINED).expect("new Doc");
    x.js_add_peer(&n(b)).expect("addPeer");
    y.js_add_peer(&n(a)).expect("addPeer");
    (x, y)
}

/// Delivers every message `pollTransmit()` gives among `docs` (each `{ to, bytes }`
/// handed to its receiver) until none is left; returns how many were delivered.
fn settle(docs: &mut [&mut Doc]) -> usize {
    let mut total = 0;
    for _ in 0..100 {
        let mut sent = 0;
        for i in 0..docs.len() {
            let from = n(docs[i].js_replica_id());
            loop {
                let t = docs[i].js_poll_transmit();
                if t.is_undefined() {
                    break;
                }
                let to = get(&t, "to").as_f64().expect("to is a number");
                let bytes = get(&t, "bytes");
                assert!(bytes.is_instance_of::<Uint8Array>(), "bytes: {bytes:?}");
                let j = docs
                    .iter()
                    .position(|d| d.js_replica_id() == to)
                    .expect("a message for one of the docs");
                docs[j].js_receive(&from, &bytes).expect("receive");
                sent += 1;
            }
        }
        total += sent;
        if sent == 0 {
            return total;
        }
    }
    panic!("messages kept flowing");
}

/// Every key with its value, as JSON.
fn contents(d: &Doc) -> String {
    let keys = d.js_keys(&JsValue::UNDEFINED).expect("keys");
    let all: Array = keys
        .iter()
        .map(|k| Array::of2(&k, &d.js_get(&k).expect("get")))
        .collect();
    json(&all.into())
}

#[wasm_bindgen_test]
fn two_docs_converge_on_all_five_types() {
    let (mut a, mut b) = pair(1.0, 2.0);
    let writes = [
        a.js_increment(&s("likes"), &n(5.0)),
        b.js_decrement(&s("likes"), &n(2.0)),
        a.js_increment(&s("likes"), &JsValue::UNDEFINED), // n = 1
        a.js_increment_gcounter(&s("views"), &n(7.0)),
        a.js_insert(&s("list"), &s("milk")),
        b.js_insert(&s("list"), &s("eggs")),
        a.js_set_lww(&s("title"), &s("Groceries"), &n(1_700_000_000_000.0)),
        b.js_set_lww(&s("title"), &s("Shopping"), &n(1_700_000_000_001.0)),
        a.js_set_mv(&s("note"), &s("y")),
        b.js_set_mv(&s("note"), &s("x")),
        a.js_insert(&s("gone"), &s("z")),
        a.js_delete(&s("gone")),
    ];
    for w in writes {
        assert!(!w.expect("write").is_empty(), "an empty delta");
    }
    let token_a = a.js_causal_token().expect("token");
    assert!(
        !b.js_covers(&u8s(&token_a)).expect("covers"),
        "b saw nothing yet"
    );
    assert_ne!(contents(&a), contents(&b));

    assert!(settle(&mut [&mut a, &mut b]) > 0);

    let expected = r#"[["likes",4],["list",["eggs","milk"]],["note",["x","y"]],["title","Shopping"],["views",7]]"#;
    assert_eq!(contents(&a), expected);
    assert_eq!(contents(&b), expected);
    for d in [&a, &b] {
        let type_of = |k: &str| d.js_type_of(&s(k)).expect("typeOf");
        assert_eq!(type_of("likes").as_deref(), Some("pncounter"));
        assert_eq!(type_of("views").as_deref(), Some("gcounter"));
        assert_eq!(type_of("list").as_deref(), Some("orset"));
        assert_eq!(type_of("title").as_deref(), Some("lww"));
        assert_eq!(type_of("note").as_deref(), Some("mvreg"));
        assert_eq!(type_of("gone"), None);
        assert!(d.js_get(&s("gone")).expect("get").is_undefined());
        assert_eq!(
            json(&d.js_keys(&s("l")).expect("keys").into()),
            r#"["likes","list"]"#
        );
    }
    let (ta, tb) = (
        a.js_causal_token().expect("token"),
        b.js_causal_token().expect("token"),
    );
    assert_eq!(ta, tb, "converged Docs have seen the same writes");
    assert!(b.js_covers(&u8s(&token_a)).expect("covers"));

    // Concurrent remove and re-insert: the insert wins on both.
    a.js_remove(&s("list"), &s("milk")).expect("remove");
    b.js_insert(&s("list"), &s("milk")).expect("insert");
    settle(&mut [&mut a, &mut b]);
    assert_eq!(
        json(&a.js_get(&s("list")).expect("get")),
        r#"["eggs","milk"]"#
    );
    assert_eq!(contents(&a), contents(&b));

    // A value past 2^53 - 1 comes back as a BigInt.
    a.js_increment(&s("likes"), &n(MAX_SAFE))
        .expect("increment");
    settle(&mut [&mut a, &mut b]);
    let big = b.js_get(&s("likes")).expect("get");
    assert!(big.is_bigint(), "{big:?}");
    assert_eq!(
        BigInt::from(big).to_string(10).expect("digits"),
        "9007199254740995"
    );

    let m = a.js_metrics();
    assert!(get(&m, "messagesSent").as_f64().expect("a number") > 0.0);
    assert_eq!(get(&m, "rejectedMessages").as_f64(), Some(0.0));
    assert!(Array::is_array(&get(&m, "peerLag")));
}

#[wasm_bindgen_test]
fn a_lost_message_is_repaired_by_tick() {
    let (mut a, mut b) = pair(1.0, 2.0);
    a.js_insert(&s("list"), &s("milk")).expect("insert");
    let mut lost = 0;
    while !a.js_poll_transmit().is_undefined() {
        lost += 1;
    }
    assert!(lost > 0, "the insert produced no message");
    assert!(b.js_get(&s("list")).expect("get").is_undefined());
    for _ in 0..20 {
        a.js_tick();
        b.js_tick();
        settle(&mut [&mut a, &mut b]);
        if !b.js_get(&s("list")).expect("get").is_undefined() {
            break;
        }
    }
    assert_eq!(json(&b.js_get(&s("list")).expect("get")), r#"["milk"]"#);
    assert_eq!(contents(&a), contents(&b));
}

#[wasm_bindgen_test]
fn restore_with_a_nonce_then_persisted_makes_it_writable() {
    let (mut a, mut b) = pair(1.0, 2.0);
    a.js_insert(&s("list"), &s("before")).expect("insert");
    settle(&mut [&mut a, &mut b]);
    let saved = a.js_snapshot();
    a.js_persisted(&u8s(&saved))
        .expect("a writable Doc accepts its snapshot");

    let nonce: JsValue = BigInt::from(0xdead_beef_cafe_f00d_u64).into();
    refused(
        Doc::js_restore(&u8s(&saved), &BigInt::from(u128::from(u64::MAX) + 1).into()),
        "invalid nonce: the BigInt is outside 0n..=2n**64n-1n",
    );
    refused(
        Doc::js_restore(&u8s(&saved), &s("7")),
        "nonce must be a number or a BigInt, not string",
    );
    let mut r = Doc::js_restore(&u8s(&saved), &nonce).expect("restore");
    assert_eq!(r.js_replica_id(), 1.0);
    assert_eq!(json(&r.js_peers().into()), "[2]");
    assert_eq!(json(&r.js_get(&s("list")).expect("get")), r#"["before"]"#);
    assert_eq!(r.js_write_status(), "restoring");
    let before = doc_state(&mut r);
    refused(
        r.js_insert(&s("list"), &s("x")),
        "Doc: this restored Doc is still asking its peers",
    );
    assert_eq!(doc_state(&mut r), before);

    settle(&mut [&mut r, &mut b]);
    assert_eq!(r.js_write_status(), "needsSnapshot");
    refused(
        r.js_insert(&s("list"), &s("x")),
        "store doc.snapshot() durably, pass those bytes to doc.persisted(bytes)",
    );
    let first = r.js_snapshot();
    refused(
        r.js_persisted(&u8s(&saved)),
        "Doc: these bytes are not the latest snapshot()",
    );
    assert_eq!(r.js_write_status(), "needsSnapshot");
    r.js_persisted(&u8s(&first)).expect("persisted");
    assert_eq!(r.js_write_status(), "writable");

    r.js_insert(&s("list"), &s("after")).expect("insert");
    settle(&mut [&mut r, &mut b]);
    assert_eq!(
        json(&b.js_get(&s("list")).expect("get")),
        r#"["after","before"]"#
    );

    // A safe-integer nonce works too; a Doc without peers has nobody to ask. Made
    // without a nonce, the Doc draws one from crypto.getRandomValues.
    let mut lone = Doc::js_new(&n(7.0), &JsValue::UNDEFINED).expect("new");
    let other = Doc::js_new(&n(7.0), &JsValue::UNDEFINED).expect("new");
    assert_ne!(
        lone.js_incarnation(),
        other.js_incarnation(),
        "nonces drawn"
    );
    lone.js_set_lww(&s("t"), &s("v"), &n(1.0)).expect("setLww");
    let mut l = Doc::js_restore(&u8s(&lone.js_snapshot()), &n(12345.0)).expect("restore");
    assert_eq!(l.js_write_status(), "needsSnapshot");
    let snap = l.js_snapshot();
    l.js_persisted(&u8s(&snap)).expect("persisted");
    l.js_set_lww(&s("t"), &s("w"), &n(2.0)).expect("setLww");
    assert_eq!(
        l.js_get(&s("t")).expect("get").as_string().as_deref(),
        Some("w")
    );
}

#[wasm_bindgen_test]
fn bad_input_throws_an_error_and_the_doc_keeps_working() {
    let (mut a, mut b) = pair(1.0, 2.0);
    a.js_insert(&s("list"), &s("milk")).expect("insert");
    a.js_increment(&s("likes"), &n(3.0)).expect("increment");
    // A valid message from a to b, delivered once; its copies are corrupted below.
    let msg = a.js_poll_transmit();
    let good = Uint8Array::new(&get(&msg, "bytes")).to_vec();
    b.js_receive(&n(1.0), &u8s(&good)).expect("receive");

    let lone_surrogate: JsValue = JsString::from_char_code1(0xd800).into();
    let before = doc_state(&mut a);
    refused(
        a.js_insert(&n(5.0), &s("x")),
        "key must be a string, not number",
    );
    refused(
        a.js_insert(&JsValue::NULL, &s("x")),
        "key must be a string, not null",
    );
    refused(
        a.js_get(&Array::new().into()),
        "key must be a string, not an Array",
    );
    refused(
        a.js_increment(&s("likes"), &n(f64::NAN)),
        "invalid amount n: NaN is not accepted because it is NaN",
    );
    refused(
        a.js_increment(&s("likes"), &n(-1.0)),
        "because it is negative",
    );
    refused(
        a.js_increment(&s("likes"), &n(1.5)),
        "because it is not a whole number",
    );
    refused(
        a.js_decrement(&s("likes"), &n(MAX_SAFE + 1.0)),
        "above Number.MAX_SAFE_INTEGER",
    );
    refused(
        a.js_increment(&s("likes"), &s("5")),
        "must be a number, not string",
    );
    refused(
        a.js_insert(&s("list"), &lone_surrogate),
        "lone UTF-16 surrogate",
    );
    refused(
        a.js_insert(&s(&"k".repeat(4097)), &s("x")),
        "key too large (4097 > 4096)",
    );
    refused(
        a.js_increment(&s("list"), &n(1.0)),
        r#"refused: key "list" holds a OrSet"#,
    );
    refused(
        a.js_set_lww(&s("t"), &s("v"), &n(f64::INFINITY)),
        "because it is infinite",
    );
    refused(
        a.js_add_peer(&s("2")),
        "peer id must be a number, not string",
    );
    refused(a.js_add_peer(&n(1.0)), "Doc: a Doc cannot be its own peer");
    refused(
        a.js_receive(&n(2.0), &s("d1c7")),
        "must be a Uint8Array, not string",
    );
    refused(
        a.js_receive(&n(2.0), &JsValue::from(Array::of1(&n(1.0)))),
        "must be a Uint8Array, not an Array",
    );
    refused(a.js_covers(&u8s(&[0xff, 0x00])), "cannot use these bytes");
    refused(
        a.js_receive(&n(3.0), &u8s(&good)),
        "Doc: message from 3, which is not a peer of this Doc",
    );
    assert_eq!(doc_state(&mut a), before, "a refused call changed the Doc");

    // Corrupted messages: truncated, and every byte flipped in turn.
    let before = doc_state(&mut b);
    refused(b.js_receive(&n(1.0), &u8s(&[])), "Doc: ");
    for cut in [1, good.len() / 2, good.len() - 1] {
        refused(b.js_receive(&n(1.0), &u8s(&good[..cut])), "Doc: ");
    }
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        refused(b.js_receive(&n(1.0), &u8s(&bad)), "Doc: ");
    }
    refused(Doc::js_restore(&u8s(&good), &n(1.0)), "Doc: ");
    let snap = a.js_snapshot();
    let mut flipped = snap.clone();
    flipped[snap.len() / 2] ^= 0x40;
    refused(
        Doc::js_restore(&u8s(&flipped), &n(1.0)),
        "Doc: checksum mismatch",
    );
    refused(
        Doc::js_new(&n(f64::NAN), &JsValue::UNDEFINED),
        "invalid replica id: NaN",
    );
    assert_eq!(
        doc_state(&mut b),
        before,
        "a refused message changed the Doc"
    );

    // Both still write, sync and converge.
    a.js_increment(&s("likes"), &n(1.0)).expect("increment");
    b.js_insert(&s("list"), &s("eggs")).expect("insert");
    settle(&mut [&mut a, &mut b]);
    let expected = r#"[["likes",4],["list",["eggs","milk"]]]"#;
    assert_eq!(contents(&a), expected);
    assert_eq!(contents(&b), expected);
    assert_eq!(
        get(&b.js_metrics(), "rejectedMessages")
            .as_f64()
            .map(|x| x > 0.0),
        Some(true)
    );
}

/// The Docs of a vector run by name, their latest snapshots, and the Doc that receives
/// for each replica id (the latest made or restored under it).
#[derive(Default)]
struct Run {
    docs: Vec<(String, Doc)>,
    snapshots: Vec<(String, Vec<u8>)>,
}

impl Run {
    fn doc(&mut self, name: &str) -> &mut Doc {
        let (_, d) = self
            .docs
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no Doc {name:?}"));
        d
    }

    fn add(&mut self, name: &str, d: Doc) {
        self.docs
            .retain(|(n, x)| n != name && x.js_replica_id() != d.js_replica_id());
        self.docs.push((name.into(), d));
    }

    fn snapshot_of(&self, name: &str) -> Vec<u8> {
        let (_, s) = self
            .snapshots
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no snapshot of {name:?}"));
        s.clone()
    }

    /// Runs one step with its JS arguments; returns its output as `JSON.stringify`
    /// writes it, or `None` for a step without output.
    fn step(&mut self, name: &str, call: &str, args: &Array) -> Option<String> {
        let arg = |i| args.get(i);
        let out = |r: Result<Vec<u8>, JsError>| {
            let bytes = r.unwrap_or_else(|e| panic!("{call}: {}", thrown::<()>(Err(e))));
            Some(json(&s(&hex(&bytes))))
        };
        match call {
            "new" => {
                let d = Doc::js_new(&arg(0), &arg(1)).expect("new");
                self.add(name, d);
                None
            }
            "restore" => {
                let from = self.snapshot_of(&arg(0).as_string().expect("a name"));
                let d = Doc::js_restore(&u8s(&from), &arg(1)).expect("restore");
                self.add(name, d);
                None
            }
            "addPeer" => {
                self.doc(name).js_add_peer(&arg(0)).expect("addPeer");
                None
            }
            "tick" => {
                self.doc(name).js_tick();
                None
            }
            "persisted" => {
                let snap = self.snapshot_of(name);
                self.doc(name).js_persisted(&u8s(&snap)).expect("persisted");
                None
            }
            "snapshot" => {
                let snap = self.doc(name).js_snapshot();
                self.snapshots.push((name.into(), snap.clone()));
                out(Ok(snap))
            }
            "get" => {
                let v = self.doc(name).js_get(&arg(0)).expect("get");
                let v = if v.is_undefined() { JsValue::NULL } else { v };
                Some(json(&v))
            }
            "deliver" => {
                let from = self.doc(name).js_replica_id();
                let sent = Array::new();
                loop {
                    let t = self.doc(name).js_poll_transmit();
                    if t.is_undefined() {
                        break;
                    }
                    let to = get(&t, "to").as_f64().expect("to");
                    let bytes = get(&t, "bytes");
                    let target = self
                        .docs
                        .iter_mut()
                        .find(|(_, d)| d.js_replica_id() == to)
                        .map(|(_, d)| d)
                        .expect("a Doc for the message");
                    target.js_receive(&n(from), &bytes).expect("receive");
                    let h = hex(&Uint8Array::new(&bytes).to_vec());
                    sent.push(&Array::of2(&n(to), &s(&h)));
                }
                Some(json(&sent.into()))
            }
            "increment" => out(self.doc(name).js_increment(&arg(0), &arg(1))),
            "decrement" => out(self.doc(name).js_decrement(&arg(0), &arg(1))),
            "incrementGCounter" => out(self.doc(name).js_increment_gcounter(&arg(0), &arg(1))),
            "insert" => out(self.doc(name).js_insert(&arg(0), &arg(1))),
            "remove" => out(self.doc(name).js_remove(&arg(0), &arg(1))),
            "setLww" => out(self.doc(name).js_set_lww(&arg(0), &arg(1), &arg(2))),
            "setMv" => out(self.doc(name).js_set_mv(&arg(0), &arg(1))),
            "delete" => out(self.doc(name).js_delete(&arg(0))),
            "causalToken" => out(self.doc(name).js_causal_token()),
            other => panic!("unknown call {other:?} in the vector"),
        }
    }
}

/// Runs the vector's steps (parsed by `JSON.parse`, so every argument is the JS value a
/// caller would pass); returns the number of outputs compared, the calls made, and a
/// line per step whose output differs from the recorded one.
fn run_vector(vector: &JsValue) -> (usize, Vec<String>, Vec<String>) {
    let steps: Array = get(vector, "steps").dyn_into().expect("steps is an array");
    let mut run = Run::default();
    let (mut checked, mut calls, mut mismatches) = (0, Vec::new(), Vec::new());
    for (i, step) in steps.iter().enumerate() {
        let name = get(&step, "doc").as_string().expect("doc");
        let call = get(&step, "call").as_string().expect("call");
        let args: Array = get(&step, "args").dyn_into().expect("args is an array");
        let out = run.step(&name, &call, &args);
        let recorded = get(&step, "out");
        let recorded = (!recorded.is_undefined()).then(|| json(&recorded));
        if out != recorded {
            mismatches.push(format!(
                "step {i} ({name}.{call}): recorded {recorded:?}, now {out:?}"
            ));
        } else if out.is_some() {
            checked += 1;
        }
        calls.push(call);
    }
    (checked, calls, mismatches)
}

#[wasm_bindgen_test]
fn doc_encodings_match_the_shared_vector_byte_for_byte() {
    let vector = JSON::parse(VECTOR).expect("the vector is JSON");
    let (checked, calls, mismatches) = run_vector(&vector);
    assert!(
        mismatches.is_empty(),
        "the wasm build encodes differently from tests/vectors/doc_ops.json:\n{}",
        mismatches.join("\n")
    );
    assert!(checked >= 40, "only {checked} outputs compared");
    for c in CALLS {
        assert!(calls.iter().any(|x| x == c), "the vector has no {c} step");
    }
}

#[wasm_bindgen_test]
fn a_changed_byte_in_the_vector_is_reported() {
    let vector = JSON::parse(VECTOR).expect("the vector is JSON");
    let steps: Array = get(&vector, "steps").dyn_into().expect("steps");
    let step = steps
        .iter()
        .find(|st| get(st, "call").as_string().as_deref() == Some("snapshot"))
        .expect("a snapshot step");
    let recorded = get(&step, "out").as_string().expect("hex");
    let last = if recorded.ends_with('0') { "1" } else { "0" };
    let changed = format!("{}{last}", &recorded[..recorded.len() - 1]);
    Reflect::set(&step, &s("out"), &s(&changed)).expect("set");
    let (_, _, mismatches) = run_vector(&vector);
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert!(mismatches[0].contains("snapshot"), "{mismatches:?}");
}

#[wasm_bindgen_test]
fn gcounter_and_pncounter_converge_and_keep_exact_values() {
    let mut a = GCounter::js_new(&n(1.0)).expect("new");
    let mut b = GCounter::js_new(&n(2.0)).expect("new");
    let da = a.js_increment(&n(5.0)).expect("increment");
    let db = b.js_increment(&JsValue::UNDEFINED).expect("increment");
    a.js_merge(&u8s(&db)).expect("merge");
    b.js_merge(&u8s(&da)).expect("merge");
    b.js_merge(&u8s(&da)).expect("merging twice is harmless");
    assert_eq!(a.js_value().ok(), Some(6.0));
    assert_eq!(b.js_value().ok(), Some(6.0));
    assert_eq!(a.js_encode().ok(), b.js_encode().ok());
    let c = GCounter::js_decode(&u8s(&a.js_encode().expect("encode")), &n(3.0)).expect("decode");
    assert_eq!(c.js_replica_id(), 3.0);
    assert_eq!(c.js_value().ok(), Some(6.0));

    a.js_increment(&n(MAX_SAFE)).expect("increment");
    refused(a.js_value(), "read it with valueBigInt()");
    assert_eq!(a.value_big_int(), 9_007_199_254_740_997);

    let mut p = PnCounter::js_new(&n(1.0)).expect("new");
    let mut q = PnCounter::js_new(&n(2.0)).expect("new");
    let d1 = p.js_increment(&n(3.0)).expect("increment");
    let d2 = q.js_decrement(&n(10.0)).expect("decrement");
    p.js_merge(&u8s(&d2)).expect("merge");
    q.js_merge(&u8s(&d1)).expect("merge");
    assert_eq!(p.js_value().ok(), Some(-7.0));
    assert_eq!(q.value_big_int(), -7);
    assert_eq!(p.js_encode().ok(), q.js_encode().ok());
    refused(p.js_decrement(&n(f64::NAN)), "it is NaN");
    assert_eq!(p.js_value().ok(), Some(-7.0));
}

#[wasm_bindgen_test]
fn orsets_are_add_wins_and_registers_last_writer_wins() {
    let mut a = OrSet::js_new(&n(1.0)).expect("new");
    let mut b = OrSet::js_new(&n(2.0)).expect("new");
    let d = a.js_insert(&s("milk")).expect("insert");
    b.js_merge(&u8s(&d)).expect("merge");
    let again = a.js_insert(&s("milk")).expect("insert"); // concurrent with the remove
    let removed = b.js_remove(&s("milk")).expect("remove");
    let eggs = b.js_insert(&s("ünïcødé 🥛")).expect("insert");
    for x in [&removed, &eggs] {
        a.js_merge(&u8s(x)).expect("merge");
    }
    b.js_merge(&u8s(&again)).expect("merge");
    for x in [&a, &b] {
        assert!(x.js_has(&s("milk")).expect("has"), "add wins");
        assert_eq!(x.js_values(), ["milk", "ünïcødé 🥛"]);
        assert_eq!(x.js_size(), 2);
    }
    assert_eq!(a.js_encode().ok(), b.js_encode().ok());
    let before = a.js_encode().expect("encode");
    refused(
        a.js_merge(&u8s(&GCounter::js_new(&n(3.0))
            .expect("new")
            .js_encode()
            .expect("encode"))),
        "the bytes encode GCounter, not OrSet<String>",
    );
    refused(a.js_merge(&s("milk")), "must be a Uint8Array, not string");
    refused(a.js_insert(&n(1.0)), "must be a string, not number");
    refused(
        OrSet::js_decode(&u8s(&before[..before.len() - 1]), &n(1.0)),
        "OrSet: cannot use these bytes",
    );
    assert_eq!(a.js_encode().ok(), Some(before));
    a.js_clear().expect("clear");
    assert_eq!(a.js_size(), 0);

    let mut u = OrSetU64::js_new(&n(1.0)).expect("new");
    u.js_insert(&n(42.0)).expect("insert");
    u.js_insert(&BigInt::from(u64::MAX).into())
        .expect("a BigInt element");
    assert!(
        u.js_has(&BigInt::from(42_u64).into()).expect("has"),
        "42n and 42 are one element"
    );
    refused(u.js_values(), "read it with valuesBigInt()");
    let all: Vec<String> = u
        .values_big_int()
        .iter()
        .map(|v| {
            BigInt::from(v.clone())
                .to_string(10)
                .expect("digits")
                .into()
        })
        .collect();
    assert_eq!(all, ["42", "18446744073709551615"]);
    refused(u.js_insert(&n(-1.0)), "because it is negative");

    let mut r = LwwRegister::js_new(&n(1.0)).expect("new");
    let mut w = LwwRegister::js_new(&n(2.0)).expect("new");
    let late = r.js_set(&s("late"), &n(2_000.0)).expect("set");
    let early = w.js_set(&s("early"), &n(1_000.0)).expect("set");
    r.js_merge(&u8s(&early)).expect("merge");
    w.js_merge(&u8s(&late)).expect("merge");
    assert_eq!(r.js_get().as_deref(), Some("late"));
    assert_eq!(w.js_get().as_deref(), Some("late"));
    assert_eq!(r.js_encode().ok(), w.js_encode().ok());
    refused(r.js_set(&s("x"), &n(-5.0)), "because it is negative");
}
