//! Reading JavaScript arguments, the only code that looks inside a `JsValue`, and
//! building the JavaScript values `Doc`'s reads return.
//!
//! Each reader checks the JS type first (no coercion: `"5"` is not a number) and then
//! hands a Rust value to the checks in [`crate::number`], [`crate::text`] and
//! [`crate::codec`], which are tested natively. These functions call into JavaScript
//! and so run only on `wasm32`; the Node tests cover them.

use crate::error::{Arg, Error};
use crate::number::safe_integer;
use crate::text::check_size;
use js_sys::{Array, BigInt, JsString, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// A JS string, seen through the one method used here.
    type WellFormed;
    /// `String.prototype.isWellFormed`, caught: runtimes older than 2023 lack it.
    #[wasm_bindgen(method, catch, js_name = isWellFormed)]
    fn is_well_formed(this: &WellFormed) -> Result<bool, JsValue>;
}

/// The JS type of `v` for messages: `typeof`, with `null` and arrays told apart.
fn type_of(v: &JsValue) -> String {
    if v.is_null() {
        "null".into()
    } else if js_sys::Array::is_array(v) {
        "an Array".into()
    } else {
        v.js_typeof()
            .as_string()
            .unwrap_or_else(|| "an unknown type".into())
    }
}

fn wrong_type(arg: Arg, expected: &'static str, v: &JsValue) -> Error {
    Error::WrongType {
        arg,
        expected,
        found: type_of(v),
    }
}

/// A JS number that must be an integer in `0..=Number.MAX_SAFE_INTEGER`.
///
/// # Errors
/// [`Error::WrongType`] for non-numbers, [`Error::BadNumber`] for the rest.
pub fn integer(arg: Arg, v: &JsValue) -> Result<u64, Error> {
    let x = v.as_f64().ok_or_else(|| wrong_type(arg, "a number", v))?;
    safe_integer(arg, x)
}

/// The optional amount of `increment(n)` / `decrement(n)`: 1 when omitted.
///
/// # Errors
/// As [`integer`].
pub fn amount(v: &JsValue) -> Result<u64, Error> {
    if v.is_undefined() {
        Ok(1)
    } else {
        integer(Arg::Amount, v)
    }
}

/// A 64-bit argument: a safe-integer number or a BigInt in `0..=2^64-1`.
///
/// # Errors
/// [`Error::WrongType`], [`Error::BadNumber`] or [`Error::BigIntOutOfRange`].
pub fn u64(arg: Arg, v: &JsValue) -> Result<u64, Error> {
    if v.is_bigint() {
        u64::try_from(v.clone()).map_err(|_| Error::BigIntOutOfRange { arg })
    } else {
        let x = v
            .as_f64()
            .ok_or_else(|| wrong_type(arg, "a number or a BigInt", v))?;
        safe_integer(arg, x)
    }
}

/// The entropy of a new `Doc`: the caller's (as [`u64()`]), or when omitted 64 bits
/// from the runtime's `crypto.getRandomValues` (browsers, Node 19 and later, Deno).
///
/// # Errors
/// As [`u64()`]; [`Error::WrongType`] when omitted in a runtime without
/// `crypto.getRandomValues`.
pub fn nonce_or_random(v: &JsValue) -> Result<u64, Error> {
    if !v.is_undefined() {
        return u64(Arg::Nonce, v);
    }
    random_u64().ok_or_else(|| {
        wrong_type(
            Arg::Nonce,
            "a number or a BigInt (this runtime has no crypto.getRandomValues to draw one)",
            v,
        )
    })
}

/// 64 bits from `globalThis.crypto.getRandomValues`, if the runtime has it.
fn random_u64() -> Option<u64> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
    let get = Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let words = js_sys::Uint32Array::new_with_length(2);
    get.call1(&crypto, &words).ok()?;
    Some((u64::from(words.get_index(0)) << 32) | u64::from(words.get_index(1)))
}

/// An `OrSetU64` element: as [`u64()`].
///
/// # Errors
/// As [`u64()`].
pub fn u64_element(v: &JsValue) -> Result<u64, Error> {
    u64(Arg::U64Element, v)
}

/// A well-formed JS string (no lone surrogates). With `bounded`, at most
/// [`Arg::max_bytes`] of UTF-8; lookups (`has`, `remove`) pass `false` so that any
/// element a peer stored can still be found.
///
/// # Errors
/// [`Error::WrongType`], [`Error::IllFormedString`] or [`Error::TooLarge`].
pub fn string(arg: Arg, v: &JsValue, bounded: bool) -> Result<String, Error> {
    let s = v
        .dyn_ref::<JsString>()
        .ok_or_else(|| wrong_type(arg, "a string", v))?;
    // Every UTF-16 code unit takes at least one UTF-8 byte: refuse before copying.
    let units = s.length() as usize;
    if bounded && units > arg.max_bytes() {
        return Err(Error::TooLarge {
            arg,
            size: units,
            max: arg.max_bytes(),
        });
    }
    let well_formed = s
        .unchecked_ref::<WellFormed>()
        .is_well_formed()
        .unwrap_or_else(|_| s.is_valid_utf16());
    if !well_formed {
        return Err(Error::IllFormedString { arg });
    }
    let out = v
        .as_string()
        .ok_or_else(|| wrong_type(arg, "a string", v))?;
    if bounded {
        check_size(arg, &out)?;
    }
    Ok(out)
}

/// The bytes of a `Uint8Array` (a Node `Buffer` is one), length-checked before copying.
///
/// # Errors
/// [`Error::WrongType`] or [`Error::TooLarge`].
pub fn bytes(v: &JsValue) -> Result<Vec<u8>, Error> {
    let array = v
        .dyn_ref::<Uint8Array>()
        .ok_or_else(|| wrong_type(Arg::Bytes, "a Uint8Array", v))?;
    crate::codec::check_len(array.length() as usize)?;
    Ok(array.to_vec())
}

/// A replica id: a JS number, an integer in `0..=Number.MAX_SAFE_INTEGER`.
///
/// # Errors
/// As [`integer`].
pub fn replica_id(v: &JsValue) -> Result<crdt_core::ReplicaId, Error> {
    integer(Arg::ReplicaId, v).map(crdt_core::ReplicaId::new)
}

/// A peer's replica id: as [`replica_id`], named as a peer in messages.
///
/// # Errors
/// As [`integer`].
pub fn peer_id(v: &JsValue) -> Result<crdt_core::ReplicaId, Error> {
    integer(Arg::PeerId, v).map(crdt_core::ReplicaId::new)
}

/// `v` as a JS number where exact (at most `Number.MAX_SAFE_INTEGER`), else a BigInt.
#[must_use]
pub fn unsigned(v: u64) -> JsValue {
    crate::number::exact_u(u128::from(v)).map_or_else(|| BigInt::from(v).into(), JsValue::from)
}

/// `v` as a JS number where exact (magnitude at most `Number.MAX_SAFE_INTEGER`), else a
/// BigInt.
#[must_use]
pub fn signed(v: i64) -> JsValue {
    crate::number::exact_i(i128::from(v)).map_or_else(|| BigInt::from(v).into(), JsValue::from)
}

/// A JS array of strings, in the given order.
#[must_use]
pub fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Array {
    items.into_iter().map(JsValue::from_str).collect()
}

/// A plain JS object with the given properties, in order.
#[must_use]
pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, JsValue)>) -> JsValue {
    let obj = Object::new();
    for (name, value) in fields {
        // Defining a property of a fresh plain object cannot fail.
        let _ = Reflect::set(&obj, &JsValue::from_str(name), &value);
    }
    obj.into()
}
