// Node benchmark of crdt-wasm: the OR-Set and counter operations of the Rust
// benchmark (bench/), through the JS bindings, so the cost of the binding is visible.
//
// Usage (after `bash scripts/wasm.sh build`):
//   node crdt-wasm/bench/bench.mjs [--out FILE.md] [--sizes 10000,100000]
// `bash scripts/wasm.sh bench [FILE.md]` runs it with the nodejs build. It prints a
// markdown table and writes it to FILE.md (default target/wasm-bench.md).
//
// What each row measures (all through the JS API, so every figure includes the
// binding: argument checks, copying strings and bytes across the wasm boundary, and
// encoding each mutator's delta to a Uint8Array):
// - insert / remove: n local inserts into an empty set / n removes from an n-element
//   set, per operation (each returns its encoded delta).
// - merge full states: x.merge(y.encode()) where x = replicas 1 and 2's writes and
//   y = replicas 2 and 3's writes, n elements each, half of them (replica 2's) shared;
//   includes decoding y (merge takes bytes), not encoding it.
// - merge 10-elem delta: merge(bytes) of a delta of another replica holding 10 inserts
//   of fresh elements, into an n-element set (200 deltas, so the set grows by 2000);
//   per merge, including the decode.
// - encode / decode: the whole n-element state; bytes/elem is encode().length / n.
// - counters with R replicas (ids 1..R, each a random count up to 10^6; PN-Counters as
//   many decrements, as in the Rust benchmark): increment by the local
//   replica; merge(bytes) of another R-replica state (including decode); value();
//   encode, with the encoded size.
// Elements, as in the Rust benchmark: u64 i (0..n) as JS numbers through OrSetU64;
// i as 13 zero-padded digits through OrSet. Times are the median of several runs.
import { createRequire } from "node:module";
import { mkdirSync, writeFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}
const OUT = option("--out", path.join(here, "../../target/wasm-bench.md"));
const SIZES = option("--sizes", "10000,100000").split(",").map(Number);
const PKG = process.env.CRDT_WASM_PKG ?? path.join(here, "../../target/wasm/pkg");
const require = createRequire(import.meta.url);
const wasm = require(path.join(PKG, "nodejs", "crdt_wasm.js"));

const now = () => process.hrtime.bigint();
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs `setup()` (untimed) then `body(ctx)` (timed) `runs` times; returns the median
 * nanoseconds of one body, and frees what setup returned.
 */
function measure(runs, setup, body) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const ctx = setup();
    const t0 = now();
    body(ctx);
    times.push(Number(now() - t0));
    for (const o of Object.values(ctx)) if (o && typeof o.free === "function") o.free();
  }
  return median(times);
}

const rows = [];
let quiet = false;
function row(structure, operation, n, ns, perOp, bytesPerElem = "") {
  const time = perOp ? `${fmt(ns / perOp)} ns/op` : `${fmt(ns / 1e6, 2)} ms`;
  rows.push({ structure, operation, n, time, bytesPerElem });
  if (quiet) return;
  console.error(`${structure.padEnd(22)} ${operation.padEnd(34)} ${String(n).padStart(8)}  ${time} ${bytesPerElem}`);
}
function fmt(x, digits = 0) {
  if (x >= 100 || digits === 0) return Math.round(x).toLocaleString("en-US");
  return x.toFixed(digits);
}

const ELEMS = {
  "OrSetU64 (u64)": { Class: wasm.OrSetU64, elem: (i) => i },
  "OrSet (13-byte String)": { Class: wasm.OrSet, elem: (i) => String(i).padStart(13, "0") },
};
// Elements no sequential set holds, as the Rust benchmark's `Element::fresh`.
const FRESH = {
  "OrSetU64 (u64)": (next) => 2 ** 32 + Math.floor(next() * 2 ** 40),
  "OrSet (13-byte String)": (next) => String(5e12 + Math.floor(next() * 4e12)).padStart(13, "0"),
};

/** A small deterministic PRNG (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function filled(Class, id, elem, from, to) {
  const s = new Class(id);
  for (let i = from; i < to; i++) s.insert(elem(i));
  return s;
}

function orsetBench(name, { Class, elem }, n) {
  const runs = n >= 1e6 ? 3 : 5;
  // insert
  let ns = measure(runs, () => ({ s: new Class(1) }), ({ s }) => {
    for (let i = 0; i < n; i++) s.insert(elem(i));
  });
  row(name, "insert", n, ns, n);
  // remove
  const full = filled(Class, 1, elem, 0, n);
  const fullBytes = full.encode();
  full.free();
  ns = measure(runs, () => ({ s: Class.decode(fullBytes, 1) }), ({ s }) => {
    for (let i = 0; i < n; i++) s.remove(elem(i));
  });
  row(name, "remove", n, ns, n);
  // merge two full states: x = r1 + r2, y = r2 + r3, n elements each, r2's half shared
  const half = Math.floor(n / 2);
  const r2 = filled(Class, 2, elem, half, n);
  const x = filled(Class, 1, elem, 0, half);
  x.merge(r2.encode());
  const y = filled(Class, 3, elem, n, n + half);
  y.merge(r2.encode());
  const xBytes = x.encode();
  const yBytes = y.encode();
  for (const o of [r2, x, y]) o.free();
  ns = measure(runs, () => ({ s: Class.decode(xBytes, 1) }), ({ s }) => s.merge(yBytes));
  row(name, "merge full states (incl. decode)", n, ns, 0);
  // merge 10-element deltas of another replica (4) into an n-element state: each delta
  // joins that replica's deltas of 10 inserts of fresh elements
  const K = 200;
  const deltas = [];
  const writer = new Class(4);
  const fresh = FRESH[name];
  const next = rng(n);
  for (let k = 0; k < K; k++) {
    const acc = new Class(4);
    for (let j = 0; j < 10; j++) acc.merge(writer.insert(fresh(next)));
    deltas.push(acc.encode());
    acc.free();
  }
  writer.free();
  ns = measure(runs, () => ({ s: Class.decode(fullBytes, 1) }), ({ s }) => {
    for (const d of deltas) s.merge(d);
  });
  row(name, "merge 10-elem delta (incl. decode)", n, ns, K);
  // encode / decode
  const s = Class.decode(fullBytes, 1);
  ns = measure(runs, () => ({}), () => s.encode());
  const perElem = (fullBytes.length / n).toFixed(2);
  row(name, "encode", n, ns, 0, perElem);
  s.free();
  ns = measure(runs, () => ({}), () => Class.decode(fullBytes, 1).free());
  row(name, "decode", n, ns, 0, perElem);
}

function counterBench(name, Class, replicas) {
  // Replicas 1..=R each counted a random amount up to 10^6 (and as many decrements).
  const mk = (seed) => {
    const next = rng(seed);
    const c = new Class(1);
    for (let r = 1; r <= replicas; r++) {
      const other = new Class(r);
      other.increment(1 + Math.floor(next() * 1e6));
      if (Class === wasm.PnCounter) other.decrement(1 + Math.floor(next() * 1e6));
      c.merge(other.encode());
      other.free();
    }
    return c;
  };
  const a = mk(1);
  const b = mk(2);
  const aBytes = a.encode();
  const bBytes = b.encode();
  a.free();
  b.free();
  const OPS = 20000;
  let ns = measure(5, () => ({ c: Class.decode(aBytes, 1) }), ({ c }) => {
    for (let i = 0; i < OPS; i++) c.increment(1);
  });
  row(name, "increment", replicas, ns, OPS);
  const MERGES = replicas >= 1024 ? 500 : 5000;
  ns = measure(5, () => ({ c: Class.decode(aBytes, 1) }), ({ c }) => {
    for (let i = 0; i < MERGES; i++) c.merge(bBytes);
  });
  row(name, "merge full state (incl. decode)", replicas, ns, MERGES);
  const c = Class.decode(aBytes, 1);
  let sink = 0;
  ns = measure(5, () => ({}), () => {
    for (let i = 0; i < OPS; i++) sink += c.value();
  });
  row(name, "value", replicas, ns, OPS);
  const size = c.encode().length;
  const ENCODES = replicas >= 1024 ? 2000 : 20000;
  ns = measure(5, () => ({}), () => {
    for (let i = 0; i < ENCODES; i++) c.encode();
  });
  row(name, "encode", replicas, ns, ENCODES, `${size} B (${(size / replicas).toFixed(2)}/replica)`);
  c.free();
  return sink;
}

const started = Date.now();
// Warm-up: let V8 tier the wasm and JS glue up before anything is recorded.
quiet = true;
for (const [name, spec] of Object.entries(ELEMS)) orsetBench(name, spec, 5000);
counterBench("GCounter", wasm.GCounter, 64);
counterBench("PnCounter", wasm.PnCounter, 64);
rows.length = 0;
quiet = false;
for (const n of SIZES) {
  for (const [name, spec] of Object.entries(ELEMS)) orsetBench(name, spec, n);
}
for (const R of [8, 64, 1024]) {
  counterBench("GCounter", wasm.GCounter, R);
  counterBench("PnCounter", wasm.PnCounter, R);
}

const wasmBytes = statSync(path.join(PKG, "nodejs", "crdt_wasm_bg.wasm")).size;
const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const load = os.loadavg()[0].toFixed(1);
const lines = [
  `Node ${process.version} on ${cpu} (${os.cpus().length} cores, load average ${load} at the end), crdt-wasm release build ` +
    `(${wasmBytes.toLocaleString("en-US")} bytes of wasm), ${new Date().toISOString().slice(0, 10)}. ` +
    "Every figure goes through the JS bindings: argument checks, copies across the wasm " +
    "boundary and an encoded delta per mutation; merges take bytes, so they include decoding. " +
    "n is elements for the sets and replicas for the counters (bytes/element is then the " +
    "whole encoding and per replica); times are medians of 3-5 runs after a warm-up. " +
    "Produced by `bash scripts/wasm.sh bench`.",
  "",
  "| structure | operation | n | time | bytes/element |",
  "|---|---|---:|---:|---:|",
  ...rows.map((r) => `| ${r.structure} | ${r.operation} | ${r.n.toLocaleString("en-US")} | ${r.time} | ${r.bytesPerElem} |`),
  "",
];
const table = lines.join("\n");
mkdirSync(path.dirname(path.resolve(OUT)), { recursive: true });
writeFileSync(OUT, table);
console.log(table);
console.error(`wrote ${OUT} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
