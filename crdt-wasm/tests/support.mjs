// Shared by the Node tests: loads the nodejs build and provides checks every class uses.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The wasm-bindgen output directory (scripts/wasm.sh sets CRDT_WASM_PKG). */
export const PKG = process.env.CRDT_WASM_PKG ?? path.join(here, "../../target/wasm/pkg");
const require = createRequire(import.meta.url);
/** The nodejs build: { GCounter, PnCounter, OrSet, OrSetU64, LwwRegister }. */
export const wasm = require(path.join(PKG, "nodejs", "crdt_wasm.js"));

/** The Doc-only browser build (doc/: crdt-wasm without its "classes" feature), initialised. */
export async function docBuild() {
  const dir = path.join(PKG, "doc");
  const mod = await import(pathToFileURL(path.join(dir, "crdt_wasm.js")).href);
  mod.initSync({ module: readFileSync(path.join(dir, "crdt_wasm_bg.wasm")) });
  return mod;
}

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Replica ids that every constructor and decode must refuse, with the message part. */
export const BAD_IDS = [
  [undefined, /replica id must be a number, not undefined/],
  [null, /replica id must be a number, not null/],
  ["1", /replica id must be a number, not string/],
  [1n, /replica id must be a number, not bigint/],
  [{}, /replica id must be a number, not object/],
  [[1], /replica id must be a number, not an Array/],
  [NaN, /invalid replica id: NaN .* because it is NaN/],
  [-1, /because it is negative/],
  [0.5, /because it is not a whole number/],
  [Infinity, /because it is infinite/],
  [-Infinity, /because it is infinite/],
  [2 ** 53, /above Number.MAX_SAFE_INTEGER/],
  [1e300, /1e300 is not accepted .* above Number.MAX_SAFE_INTEGER/],
];

/** Non-negative-integer arguments (amounts, timestamps) that must be refused. */
export const BAD_INTEGERS = [
  [null, /must be a number, not null/],
  ["5", /must be a number, not string/],
  [5n, /must be a number, not bigint/],
  [new Date(0), /must be a number, not object/],
  [NaN, /it is NaN/],
  [-1, /it is negative/],
  [1.5, /it is not a whole number/],
  [Infinity, /it is infinite/],
  [2 ** 53, /above Number.MAX_SAFE_INTEGER/],
  [Number.MAX_VALUE, /above Number.MAX_SAFE_INTEGER/],
];

/** Byte arguments that are not Uint8Arrays. */
export const NOT_BYTES = [
  undefined,
  null,
  "D1C7",
  5,
  [0xd1, 0xc7, 1, 0x10, 0],
  new ArrayBuffer(5),
  new Int8Array(5),
  new Uint16Array(5),
  {},
];

/** A snapshot of everything observable about a replica, to check it did not change. */
export function snapshot(obj) {
  return Buffer.from(obj.encode()).toString("hex");
}

/**
 * Asserts that `fn` throws an Error matching `re` (a RegExp, or a string the message
 * must equal exactly) and leaves `obj` unchanged: `state(obj)` (default: its encoding)
 * is the same before and after.
 */
export function refuses(obj, fn, re, state = snapshot) {
  const before = state(obj);
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, `threw a non-Error: ${e}`);
    // A Rust panic would surface as a wasm trap (RuntimeError: unreachable).
    assert.ok(!(e instanceof WebAssembly.RuntimeError), `trapped: ${e.stack}`);
    if (typeof re === "string") assert.equal(e.message, re);
    else if (re) assert.match(e.message, re);
    return true;
  });
  assert.equal(state(obj), before, "a refused call changed the object");
}

/**
 * The bytes of `obj.encode()` cut, extended and bit-flipped: every prefix and the
 * input plus a trailing byte must be refused; a bit flip must be refused unless the
 * flipped bytes are themselves a canonical encoding of the class.
 */
export function checkCorruptions(Class, obj, target) {
  const good = obj.encode();
  for (let n = 0; n < good.length; n++) {
    refuses(target, () => target.merge(good.subarray(0, n)), /cannot use these bytes/);
    assert.throws(() => Class.decode(good.subarray(0, n), 1), /truncated|cannot use/);
  }
  const longer = new Uint8Array(good.length + 1);
  longer.set(good);
  refuses(target, () => target.merge(longer), /unexpected bytes after the value/);
  let rejected = 0;
  for (let i = 0; i < good.length * 8; i++) {
    const bad = Uint8Array.from(good);
    bad[i >> 3] ^= 1 << (i & 7);
    let decoded = null;
    try {
      decoded = Class.decode(bad, 1);
    } catch (e) {
      assert.ok(e instanceof Error && !(e instanceof WebAssembly.RuntimeError), String(e));
    }
    if (decoded === null) {
      rejected++;
      refuses(target, () => target.merge(bad), /cannot use these bytes/);
    } else {
      // Accepted only as a canonical encoding of another valid state.
      assert.deepEqual(decoded.encode(), bad);
      decoded.free();
    }
  }
  return { flips: good.length * 8, rejected };
}

/** A small deterministic PRNG (mulberry32) for shuffles. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `items` in a random order drawn from `next`. */
export function shuffled(items, next) {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Encodings of one state of every class, to feed each class the others' bytes. */
export function oneOfEach() {
  const g = new wasm.GCounter(1);
  g.increment(2);
  const p = new wasm.PnCounter(1);
  p.decrement(2);
  const s = new wasm.OrSet(1);
  s.insert("a");
  const u = new wasm.OrSetU64(1);
  u.insert(1);
  const l = new wasm.LwwRegister(1);
  l.set("a", 1);
  return {
    GCounter: g.encode(),
    PnCounter: p.encode(),
    OrSet: s.encode(),
    OrSetU64: u.encode(),
    LwwRegister: l.encode(),
  };
}
