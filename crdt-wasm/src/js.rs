//! Reading JavaScript arguments: the only code that looks inside a `JsValue`.
//!
//! Each reader checks the JS type first (no coercion: `"5"` is not a number) and then
//! hands a Rust value to the checks in [`crate::number`], [`crate::text`] and
//! [`crate::codec`], which are tested natively. These functions call into JavaScript
//! and so run only on `wasm32`; the Node tests cover them.

use crate::error::{Arg, Error};
use crate::number::safe_integer;
use crate::text::{check_size, MAX_STRING_BYTES};
use js_sys::{JsString, Uint8Array};
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

/// An `OrSetU64` element: a safe-integer number or a BigInt in `0..=2^64-1`.
///
/// # Errors
/// [`Error::WrongType`], [`Error::BadNumber`] or [`Error::BigIntOutOfRange`].
pub fn u64_element(v: &JsValue) -> Result<u64, Error> {
    if v.is_bigint() {
        u64::try_from(v.clone()).map_err(|_| Error::BigIntOutOfRange {
            arg: Arg::U64Element,
        })
    } else {
        let x = v
            .as_f64()
            .ok_or_else(|| wrong_type(Arg::U64Element, "a number or a BigInt", v))?;
        safe_integer(Arg::U64Element, x)
    }
}

/// A well-formed JS string (no lone surrogates). With `bounded`, at most
/// [`MAX_STRING_BYTES`] of UTF-8; lookups (`has`, `remove`) pass `false` so that any
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
    if bounded && units > MAX_STRING_BYTES {
        return Err(Error::TooLarge {
            arg,
            size: units,
            max: MAX_STRING_BYTES,
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
