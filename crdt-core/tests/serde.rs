//! The replicated types embed in application serde structures through the validated
//! codec.

use crdt_core::codec::{encode, Writer};
use crdt_core::{GCounter, LwwRegister, OrSet, OrSetDelta, ReplicaId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Document {
    title: LwwRegister<String>,
    tags: OrSet<String>,
    views: GCounter,
}

fn sample() -> Document {
    let (a, b) = (ReplicaId::new(1), ReplicaId::new(2));
    let mut doc = Document {
        title: LwwRegister::new(),
        tags: OrSet::new(),
        views: GCounter::new(),
    };
    let _ = doc.title.set(a, "draft".to_string(), 10);
    let _ = doc.tags.insert(a, "crdt".to_string());
    let d = doc.tags.insert(b, "rust".to_string());
    doc.tags.apply_delta(&d);
    let _ = doc.views.increment(b, 7);
    doc
}

#[test]
fn a_document_round_trips_through_postcard() {
    let doc = sample();
    let bytes = postcard::to_allocvec(&doc).expect("serialize");
    let back: Document = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(back, doc);
    // The embedded form is exactly the canonical encoding.
    let tags: OrSet<String> =
        postcard::from_bytes(&postcard::to_allocvec(&doc.tags).unwrap()).unwrap();
    assert_eq!(encode(&tags), encode(&doc.tags));
}

/// An `OrSetDelta` embeds as the canonical bytes of the `OrSet` it holds, removal
/// hints included, and comes back as either type.
#[test]
fn an_orset_delta_round_trips_with_its_hints() {
    let mut doc = sample();
    let delta = doc.tags.remove(&"crdt".to_string());
    let bytes = postcard::to_allocvec(&delta).expect("serialize");
    let back: OrSetDelta<String> = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(back, delta);
    assert!(back.as_set().has_removal_hints());
    assert_eq!(encode(&back), encode(&delta));
    let as_set: OrSet<String> = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(encode(&as_set), encode(&delta));
}

#[test]
fn invalid_embedded_states_are_rejected() {
    // An OR-Set whose only element has a dot outside the (empty) context.
    let mut w = Writer::new();
    w.raw(&crdt_core::codec::MAGIC);
    w.u8(crdt_core::codec::FORMAT_VERSION);
    w.u8(<OrSet<u64> as crdt_core::codec::WireFormat>::TYPE_TAG);
    w.len(0); // vector
    w.len(0); // cloud
    w.len(1); // one element
    w.varint(5);
    w.len(1); // dot table
    w.varint(9);
    w.varint(1); // run of 1
    w.len(0);
    w.varint(1);
    w.u8(0); // no hints
    let forged = postcard::to_allocvec(&serde_bytes_like(w.as_bytes())).unwrap();
    assert!(postcard::from_bytes::<OrSet<u64>>(&forged).is_err());
    assert!(postcard::from_bytes::<OrSet<u64>>(&[3, 1, 2, 3]).is_err());
}

/// Serializes raw bytes the way the codec's serde impls do.
fn serde_bytes_like(bytes: &[u8]) -> impl Serialize + '_ {
    struct Raw<'a>(&'a [u8]);
    impl Serialize for Raw<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    Raw(bytes)
}

#[test]
fn a_document_round_trips_through_json() {
    // JSON has no byte strings: the encoding travels as an array of numbers.
    let doc = sample();
    let json = serde_json::to_string(&doc).expect("serialize");
    let back: Document = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, doc);
    let mut tampered: serde_json::Value = serde_json::from_str(&json).unwrap();
    tampered["views"][4] = serde_json::json!(0); // the counter's entry count
    assert!(serde_json::from_value::<Document>(tampered).is_err());
}

/// A keyspace and a multi-value register embed the same way, through the codec.
#[test]
fn a_keyspace_and_a_register_round_trip_through_serde() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Shard {
        keys: crdt_core::Keyspace,
        owner: crdt_core::MvRegister<String>,
    }
    let a = ReplicaId::new(1);
    let mut shard = Shard {
        keys: crdt_core::Keyspace::new(),
        owner: crdt_core::MvRegister::new(),
    };
    let _ = shard.keys.set_insert(a, "cart/1", "apple".into()).unwrap();
    let _ = shard.keys.increment(a, "likes/1", 2).unwrap();
    let _ = shard.owner.set(a, "eu-1".to_string());
    let json = serde_json::to_string(&shard).expect("serialize");
    let back: Shard = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, shard);
    let bytes = postcard::to_allocvec(&shard).expect("serialize");
    let back: Shard = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(back, shard);
    assert_eq!(encode(&back.keys), encode(&shard.keys));
}
