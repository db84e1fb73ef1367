//! Byte compatibility of `Doc` between native Rust and wasm: the operations of
//! `tests/vectors/doc_ops.json` must produce exactly the bytes recorded there. This
//! test checks the native build; `byte_compat.test.mjs` runs the same steps on the
//! wasm build in Node against the same file, so the two cannot drift apart.
//!
//! After an intended change of an encoding, regenerate the file with
//! `CRDT_WASM_BLESS=1 cargo test -p crdt-wasm --test byte_compat`, review the diff and
//! commit it (then `bash scripts/wasm.sh all` checks the wasm build against it).

use crdt_core::{ReplicaId, Value};
use crdt_wasm::Doc;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

const VECTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/doc_ops.json");

include!("vectors/calls.rs");

fn hex(bytes: &[u8]) -> Json {
    Json::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A value as `Doc.get` returns it to JavaScript (counters here stay below 2^53).
fn value_json(v: &Value) -> Json {
    match v {
        Value::GCounter(n) => json!(n),
        Value::PnCounter(n) => json!(n),
        Value::OrSet(items) | Value::MvRegister(items) => json!(items),
        Value::LwwRegister(s) => json!(s),
        Value::Conflict(all) => json!({
            "conflict": all
                .iter()
                .map(|x| json!({ "type": x.type_name(), "value": value_json(x) }))
                .collect::<Vec<_>>()
        }),
    }
}

/// The Docs of a run, by name, with the latest snapshot of each, and which Doc
/// receives messages for each replica id (the latest made or restored under it: a
/// restored Doc replaces the one that "crashed").
#[derive(Default)]
struct Run {
    docs: BTreeMap<String, Doc>,
    snapshots: BTreeMap<String, Vec<u8>>,
    route: BTreeMap<ReplicaId, String>,
}

fn arg_str(step: &Json, i: usize) -> String {
    step["args"][i]
        .as_str()
        .unwrap_or_else(|| panic!("argument {i} of {step} is not a string"))
        .to_string()
}

fn arg_u64(step: &Json, i: usize) -> u64 {
    step["args"][i]
        .as_u64()
        .unwrap_or_else(|| panic!("argument {i} of {step} is not an unsigned integer"))
}

impl Run {
    fn add(&mut self, name: &str, doc: Doc) {
        self.route.insert(doc.replica_id(), name.into());
        self.docs.insert(name.into(), doc);
    }

    fn doc(&mut self, name: &str) -> &mut Doc {
        self.docs
            .get_mut(name)
            .unwrap_or_else(|| panic!("no Doc {name:?} yet"))
    }

    /// Runs one step; returns its output (bytes as hex, a value, or messages).
    fn step(&mut self, step: &Json) -> Option<Json> {
        let name = step["doc"].as_str().expect("a doc name");
        let call = step["call"].as_str().expect("a call");
        let s = |i| arg_str(step, i);
        let n = |i| arg_u64(step, i);
        let bytes = |r: Result<Vec<u8>, crdt_wasm::Error>| {
            Some(hex(&r.unwrap_or_else(|e| panic!("{step}: {e}"))))
        };
        match call {
            "new" => {
                self.add(name, Doc::create(ReplicaId::new(n(0)), n(1)));
                None
            }
            "restore" => {
                let from = &self.snapshots[&s(0)];
                self.add(name, Doc::restore(from, n(1)).expect("restore"));
                None
            }
            "addPeer" => {
                self.doc(name)
                    .add_peer(ReplicaId::new(n(0)))
                    .expect("addPeer");
                None
            }
            "increment" => bytes(self.doc(name).increment(&s(0), n(1))),
            "decrement" => bytes(self.doc(name).decrement(&s(0), n(1))),
            "incrementGCounter" => bytes(self.doc(name).increment_gcounter(&s(0), n(1))),
            "insert" => bytes(self.doc(name).insert(&s(0), s(1))),
            "remove" => bytes(self.doc(name).remove(&s(0), s(1))),
            "setLww" => bytes(self.doc(name).set_lww(&s(0), s(1), n(2))),
            "setMv" => bytes(self.doc(name).set_mv(&s(0), s(1))),
            "delete" => bytes(self.doc(name).delete(&s(0))),
            "causalToken" => bytes(self.doc(name).causal_token()),
            "snapshot" => {
                let snap = self.doc(name).snapshot();
                self.snapshots.insert(name.into(), snap.clone());
                bytes(Ok(snap))
            }
            "persisted" => {
                let snap = self.snapshots[name].clone();
                self.doc(name).persisted(&snap).expect("persisted");
                None
            }
            "tick" => {
                self.doc(name).tick();
                None
            }
            "get" => Some(
                self.doc(name)
                    .get(&s(0))
                    .as_ref()
                    .map_or(Json::Null, value_json),
            ),
            "deliver" => {
                let from = self.doc(name).replica_id();
                let mut out = Vec::new();
                while let Some((to, msg)) = self.doc(name).poll_transmit() {
                    let target = self.route[&to].clone();
                    self.doc(&target).receive(from, &msg).expect("receive");
                    out.push(json!([to.get(), hex(&msg)]));
                }
                Some(Json::Array(out))
            }
            other => panic!("unknown call {other:?}"),
        }
    }
}

/// Runs every step of `vector`; with `bless`, writes each output into it, otherwise
/// returns a line per step whose output differs from the recorded one.
fn run(vector: &mut Json, bless: bool) -> Vec<String> {
    let mut run = Run::default();
    let mut mismatches = Vec::new();
    let steps = vector["steps"].as_array_mut().expect("steps");
    for (i, step) in steps.iter_mut().enumerate() {
        let out = run.step(step);
        let obj = step.as_object_mut().expect("a step is an object");
        if bless {
            match out {
                Some(o) => obj.insert("out".into(), o),
                None => obj.remove("out"),
            };
        } else if obj.get("out") != out.as_ref() {
            mismatches.push(format!(
                "step {i} ({} {}): recorded {}, now {}",
                obj["doc"],
                obj["call"],
                obj.get("out").unwrap_or(&Json::Null),
                out.unwrap_or(Json::Null)
            ));
        }
    }
    mismatches
}

fn load() -> Json {
    let text = std::fs::read_to_string(VECTOR).expect("the vector file");
    serde_json::from_str(&text).expect("the vector is JSON")
}

#[test]
fn doc_encodings_match_the_shared_vector() {
    let mut vector = load();
    let bless = std::env::var_os("CRDT_WASM_BLESS").is_some();
    let mismatches = run(&mut vector, bless);
    if bless {
        let text = serde_json::to_string_pretty(&vector).expect("serializes") + "\n";
        std::fs::write(VECTOR, text).expect("writes the vector");
    }
    assert!(
        mismatches.is_empty(),
        "the native build encodes differently from tests/vectors/doc_ops.json:\n{}\n\
         if the change is intended, run CRDT_WASM_BLESS=1 cargo test -p crdt-wasm --test byte_compat and commit the file",
        mismatches.join("\n")
    );
    let steps = vector["steps"].as_array().expect("steps");
    for call in CALLS {
        assert!(
            steps.iter().any(|s| s["call"] == call),
            "the vector has no {call} step"
        );
    }
    let outputs = steps.iter().filter(|s| s.get("out").is_some()).count();
    assert!(outputs >= 40, "only {outputs} recorded outputs");
}

#[test]
fn a_changed_byte_is_reported() {
    if std::env::var_os("CRDT_WASM_BLESS").is_some() {
        return; // the file is being rewritten
    }
    let mut vector = load();
    let step = vector["steps"]
        .as_array_mut()
        .expect("steps")
        .iter_mut()
        .find(|s| s["call"] == "snapshot")
        .expect("a snapshot step");
    let recorded = step["out"].as_str().expect("hex").to_string();
    let last = if recorded.ends_with('0') { '1' } else { '0' };
    step["out"] = Json::String(format!("{}{last}", &recorded[..recorded.len() - 1]));
    let mismatches = run(&mut vector, false);
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert!(mismatches[0].contains("snapshot"), "{mismatches:?}");
}
