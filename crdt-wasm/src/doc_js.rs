//! The JS class `Doc`: reads its JS arguments ([`crate::js`]) and calls the Rust API
//! in `doc.rs`; reads are returned as plain JS values shaped like the HTTP API's.

use crate::doc::{metric_counters, Doc};
use crate::error::{Arg, Error};
use crate::js;
use crdt_core::Value;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::{wasm_bindgen, JsError, JsValue};

/// A value as JavaScript reads it: a counter as a number (a BigInt beyond
/// `Number.MAX_SAFE_INTEGER`), an OR-Set or a multi-value register as a sorted array of
/// strings, an LWW-Register as a string, and a type conflict as
/// `{ conflict: [{ type, value }, ...] }`.
fn value(v: &Value) -> JsValue {
    match v {
        Value::GCounter(n) => js::unsigned(*n),
        Value::PnCounter(n) => js::signed(*n),
        Value::OrSet(items) | Value::MvRegister(items) => {
            js::strings(items.iter().map(String::as_str)).into()
        }
        Value::LwwRegister(s) => JsValue::from_str(s),
        Value::Conflict(all) => {
            let each: Array = all
                .iter()
                .map(|x| js::object([("type", x.type_name().into()), ("value", value(x))]))
                .collect();
            js::object([("conflict", each.into())])
        }
    }
}

/// A JS array of replica ids as numbers.
fn ids(list: impl IntoIterator<Item = crdt_core::ReplicaId>) -> Array {
    list.into_iter()
        .map(|id| JsValue::from(crate::replica_id::to_number(id)))
        .collect()
}

/// Reads `key` and the optional amount `n` (1 when omitted), then calls `write`.
fn counter_write(
    doc: &mut Doc,
    key: &JsValue,
    n: &JsValue,
    write: fn(&mut Doc, &str, u64) -> Result<Vec<u8>, Error>,
) -> Result<Vec<u8>, JsError> {
    let key = js::string(Arg::Key, key, true)?;
    let n = js::amount(n)?;
    Ok(write(doc, &key, n)?)
}

/// The JS class.
#[wasm_bindgen]
impl Doc {
    /// `new Doc(replicaId, nonce?)`: an empty document written as `replicaId` (an
    /// integer in `0..=Number.MAX_SAFE_INTEGER` no other live replica uses), with no
    /// peers. Its first incarnation takes a nonce from `nonce` (64 random bits as a
    /// BigInt or a safe integer, never reused) or, when omitted, from
    /// `crypto.getRandomValues`, so a document created again under an id whose
    /// storage was lost never writes under that id's earlier writer id.
    #[wasm_bindgen(constructor)]
    pub fn js_new(
        #[wasm_bindgen(js_name = replicaId, unchecked_param_type = "number")] replica_id: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number | undefined")] nonce: &JsValue,
    ) -> Result<Doc, JsError> {
        let id = js::replica_id(replica_id)?;
        Ok(Self::create(id, js::nonce_or_random(nonce)?))
    }

    /// `Doc.restore(bytes, nonce)`: a document restored from `snapshot()` bytes as a new
    /// incarnation. `nonce`: 64 random bits, never reused, as a BigInt
    /// (`crypto.getRandomValues(new BigUint64Array(1))[0]`) or a safe integer.
    #[wasm_bindgen(js_name = restore)]
    pub fn js_restore(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] nonce: &JsValue,
    ) -> Result<Doc, JsError> {
        let bytes = js::bytes(bytes)?;
        let nonce = js::u64(Arg::Nonce, nonce)?;
        Ok(Self::restore(&bytes, nonce)?)
    }

    /// `replicaId`: this document's replica id (a number).
    #[wasm_bindgen(getter = replicaId)]
    pub fn js_replica_id(&self) -> f64 {
        crate::replica_id::to_number(self.replica_id())
    }

    /// `incarnation`: the incarnation this document writes under, as a canonical
    /// decimal string (a `u64`, beyond a safe JS number: counter 0 and the creation's
    /// nonce in its first life). A
    /// client lists those of earlier lives with undelivered writes in its WebSocket
    /// hello (docs/WEBSOCKET.md, §2).
    #[wasm_bindgen(getter = incarnation)]
    pub fn js_incarnation(&self) -> String {
        self.incarnation().to_string()
    }

    /// `addPeer(id)`: exchange messages with replica `id` (a server, a sibling tab).
    #[wasm_bindgen(js_name = addPeer)]
    pub fn js_add_peer(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] peer: &JsValue,
    ) -> Result<(), JsError> {
        Ok(self.add_peer(js::peer_id(peer)?)?)
    }

    /// `removePeer(id)`: stop talking to replica `id` (gone for good). Absent: no-op.
    #[wasm_bindgen(js_name = removePeer)]
    pub fn js_remove_peer(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] peer: &JsValue,
    ) -> Result<(), JsError> {
        self.remove_peer(js::peer_id(peer)?);
        Ok(())
    }

    /// `peers()`: the peers' ids, ascending.
    #[wasm_bindgen(js_name = peers, unchecked_return_type = "number[]")]
    pub fn js_peers(&self) -> Array {
        ids(self.peers())
    }

    /// `increment(key, n = 1)`: adds `n` to the PN-Counter under `key`; returns the
    /// delta (`Uint8Array`, `crdt-core`'s codec).
    #[wasm_bindgen(js_name = increment)]
    pub fn js_increment(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] n: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        counter_write(self, key, n, Doc::increment)
    }

    /// `decrement(key, n = 1)`: subtracts `n` from the PN-Counter under `key`.
    #[wasm_bindgen(js_name = decrement)]
    pub fn js_decrement(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] n: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        counter_write(self, key, n, Doc::decrement)
    }

    /// `incrementGCounter(key, n = 1)`: adds `n` to the grow-only counter under `key`.
    #[wasm_bindgen(js_name = incrementGCounter)]
    pub fn js_increment_gcounter(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] n: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        counter_write(self, key, n, Doc::increment_gcounter)
    }

    /// `insert(key, value)`: adds the string `value` to the OR-Set under `key`.
    #[wasm_bindgen(js_name = insert)]
    pub fn js_insert(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] value: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let key = js::string(Arg::Key, key, true)?;
        let value = js::string(Arg::StringElement, value, true)?;
        Ok(self.insert(&key, value)?)
    }

    /// `remove(key, value)`: removes `value` from the OR-Set under `key`, as observed
    /// here (a concurrent insert wins).
    #[wasm_bindgen(js_name = remove)]
    pub fn js_remove(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] value: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let key = js::string(Arg::Key, key, true)?;
        let value = js::string(Arg::StringElement, value, false)?;
        Ok(self.remove(&key, value)?)
    }

    /// `setLww(key, value, nowMs)`: writes the last-writer-wins register under `key` at
    /// wall-clock time `nowMs` (normally `Date.now()`).
    #[wasm_bindgen(js_name = setLww)]
    pub fn js_set_lww(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] value: &JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let key = js::string(Arg::Key, key, true)?;
        let value = js::string(Arg::Value, value, true)?;
        let now_ms = js::integer(Arg::Timestamp, now_ms)?;
        Ok(self.set_lww(&key, value, now_ms)?)
    }

    /// `setMv(key, value)`: writes the multi-value register under `key`, replacing the
    /// writes of it seen here (concurrent writes all stay).
    #[wasm_bindgen(js_name = setMv)]
    pub fn js_set_mv(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] value: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let key = js::string(Arg::Key, key, true)?;
        let value = js::string(Arg::Value, value, true)?;
        Ok(self.set_mv(&key, value)?)
    }

    /// `delete(key)`: removes `key` as observed here (a concurrent write survives).
    #[wasm_bindgen(js_name = delete)]
    pub fn js_delete(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let key = js::string(Arg::Key, key, true)?;
        Ok(self.delete(&key)?)
    }

    /// `get(key)`: the value (see the module docs for its shape), or `undefined`.
    #[wasm_bindgen(
        js_name = get,
        unchecked_return_type = "number | bigint | string | string[] | { conflict: { type: string, value: number | bigint | string | string[] }[] } | undefined"
    )]
    pub fn js_get(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
    ) -> Result<JsValue, JsError> {
        let key = js::string(Arg::Key, key, false)?;
        Ok(self.get(&key).map_or(JsValue::UNDEFINED, |v| value(&v)))
    }

    /// `typeOf(key)`: `"gcounter"`, `"pncounter"`, `"orset"`, `"lww"`, `"mvreg"`,
    /// `"conflict"`, or `undefined` if absent.
    #[wasm_bindgen(js_name = typeOf)]
    pub fn js_type_of(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: &JsValue,
    ) -> Result<Option<String>, JsError> {
        let key = js::string(Arg::Key, key, false)?;
        Ok(self.get(&key).map(|v| v.type_name().to_string()))
    }

    /// `keys(prefix = "")`: the keys starting with `prefix`, ascending by UTF-8 bytes.
    #[wasm_bindgen(js_name = keys, unchecked_return_type = "string[]")]
    pub fn js_keys(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] prefix: &JsValue,
    ) -> Result<Array, JsError> {
        let prefix = if prefix.is_undefined() {
            String::new()
        } else {
            js::string(Arg::Key, prefix, false)?
        };
        Ok(js::strings(self.keys(&prefix).iter().map(String::as_str)))
    }

    /// `receive(from, bytes)`: handles a message the transport got from peer `from`;
    /// returns whether the document changed.
    #[wasm_bindgen(js_name = receive)]
    pub fn js_receive(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] from: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: &JsValue,
    ) -> Result<bool, JsError> {
        let from = js::peer_id(from)?;
        let bytes = js::bytes(bytes)?;
        Ok(self.receive(from, &bytes)?)
    }

    /// `pollTransmit()`: the next message, `{ to, bytes }` (deliver `bytes` to peer
    /// `to`'s `receive(myId, bytes)`), or `undefined` when there is nothing to send.
    #[wasm_bindgen(
        js_name = pollTransmit,
        unchecked_return_type = "{ to: number, bytes: Uint8Array } | undefined"
    )]
    pub fn js_poll_transmit(&mut self) -> JsValue {
        self.poll_transmit()
            .map_or(JsValue::UNDEFINED, |(to, bytes)| {
                js::object([
                    ("to", crate::replica_id::to_number(to).into()),
                    ("bytes", Uint8Array::from(bytes.as_slice()).into()),
                ])
            })
    }

    /// `tick()`: one anti-entropy round (retransmissions, digests); call it
    /// periodically, then `pollTransmit()`.
    #[wasm_bindgen(js_name = tick)]
    pub fn js_tick(&mut self) {
        self.tick();
    }

    /// `causalToken()`: everything this document has seen (`Uint8Array`: a version
    /// vector in `crdt-core`'s codec).
    #[wasm_bindgen(js_name = causalToken)]
    pub fn js_causal_token(&self) -> Result<Vec<u8>, JsError> {
        Ok(self.causal_token()?)
    }

    /// `covers(token)`: whether this document has seen everything `token` (from
    /// `causalToken()` of any replica of the document) names.
    #[wasm_bindgen(js_name = covers)]
    pub fn js_covers(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] token: &JsValue,
    ) -> Result<bool, JsError> {
        Ok(self.covers(&js::bytes(token)?)?)
    }

    /// `snapshot()`: the durable state (`Uint8Array`) for `Doc.restore`.
    #[wasm_bindgen(js_name = snapshot)]
    pub fn js_snapshot(&mut self) -> Vec<u8> {
        self.snapshot()
    }

    /// `persisted(bytes)`: says that `bytes` from `snapshot()` are stored durably; a
    /// restored document in `writeStatus` `"needsSnapshot"` becomes writable.
    #[wasm_bindgen(js_name = persisted)]
    pub fn js_persisted(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: &JsValue,
    ) -> Result<(), JsError> {
        Ok(self.persisted(&js::bytes(bytes)?)?)
    }

    /// `writeStatus`: `"writable"`, `"restoring"`, `"needsSnapshot"` or `"conflict"`.
    #[wasm_bindgen(
        getter = writeStatus,
        unchecked_return_type = "\"writable\" | \"restoring\" | \"needsSnapshot\" | \"conflict\""
    )]
    pub fn js_write_status(&self) -> String {
        self.write_status().as_str().to_string()
    }

    /// `metrics()`: the sync counters as numbers (camelCase names of
    /// `crdt_sync::Metrics`), and `peerLag`: `[{ peer, lag }]`, ascending by peer.
    #[wasm_bindgen(js_name = metrics, unchecked_return_type = "DocMetrics")]
    pub fn js_metrics(&self) -> JsValue {
        let m = self.metrics();
        let lag: Array = m
            .peer_lag
            .iter()
            .map(|(peer, lag)| {
                js::object([
                    ("peer", crate::replica_id::to_number(*peer).into()),
                    ("lag", js::unsigned(*lag)),
                ])
            })
            .collect();
        let counters = metric_counters(&m).map(|(name, n)| (name, js::unsigned(n)));
        js::object(counters.into_iter().chain([("peerLag", lag.into())]))
    }
}

// Puts `DOC_METRICS_TS` into the generated `.d.ts`.
#[wasm_bindgen(typescript_custom_section)]
const _: &str = DOC_METRICS_TS;

/// The TypeScript declaration of `DocMetrics`, the type of `Doc.metrics()` (also read
/// by the test below, which keeps it in step with `metric_counters`). The section above
/// reads it when wasm-bindgen's macro runs, which rustc does not count as a use.
#[allow(dead_code)]
const DOC_METRICS_TS: &str = r#"
/**
 * What `Doc.metrics()` returns: `crdt_sync::Metrics` in camelCase. Each counter is a
 * number, or a BigInt past `Number.MAX_SAFE_INTEGER`.
 */
export interface DocMetrics {
    bytesSent: number | bigint;
    messagesSent: number | bigint;
    bytesReceived: number | bigint;
    messagesReceived: number | bigint;
    deltasSent: number | bigint;
    repairsSent: number | bigint;
    repairBytesSent: number | bigint;
    fullStateSends: number | bigint;
    rejectedMessages: number | bigint;
    staleMessages: number | bigint;
    misdelivered: number | bigint;
    echoes: number | bigint;
    divergences: number | bigint;
    concurrentDiscards: number | bigint;
    gaps: number | bigint;
    bufferOverflows: number | bigint;
    unsendable: number | bigint;
    transfersSent: number | bigint;
    fragmentsSent: number | bigint;
    transfersReceived: number | bigint;
    probesTimedOut: number | bigint;
    retiredWrites: number | bigint;
    aheadOfEpoch: number | bigint;
    deltasBuffered: number | bigint;
    bufferedBytes: number | bigint;
    /** Writes each peer is known to miss, ascending by peer. */
    peerLag: { peer: number, lag: number | bigint }[];
}
"#;

#[cfg(test)]
mod tests {
    use super::DOC_METRICS_TS;
    use crate::metric_counters;

    /// The declared type lists exactly the counters `metrics()` returns, in order.
    #[test]
    fn the_metrics_type_names_every_counter() {
        let declared: Vec<&str> = DOC_METRICS_TS
            .lines()
            .filter_map(|l| l.trim().strip_suffix(": number | bigint;"))
            .collect();
        let returned: Vec<&str> = metric_counters(&crdt_sync::Metrics::default())
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(declared, returned);
    }
}
