import { it } from "node:test";
import assert from "node:assert/strict";
import { wasm, MAX_SAFE, BAD_INTEGERS, refuses, rng, shuffled } from "./support.mjs";

const { GCounter } = wasm;

it("GCounter: increments, ships deltas, converges to identical bytes", () => {
  const a = new GCounter(1);
  const b = new GCounter(2);
  assert.equal(a.value(), 0);
  const d1 = a.increment();
  const d2 = a.increment(41);
  const d3 = b.increment(100);
  assert.ok(d1 instanceof Uint8Array);
  assert.equal(a.value(), 42);
  b.merge(d2); // out of order: d2 supersedes d1
  b.merge(d1);
  a.merge(d3);
  assert.equal(a.value(), 142);
  assert.equal(b.value(), 142);
  assert.deepEqual(a.encode(), b.encode());
  assert.equal(a.valueBigInt(), 142n);
});

it("GCounter: matches crdt-core's canonical bytes", () => {
  const c = new GCounter(7);
  const delta = c.increment(3);
  // magic D1 C7, version 1, tag 0x10, one entry: replica 7, count 3
  assert.deepEqual([...delta], [0xd1, 0xc7, 1, 0x10, 1, 7, 3]);
  assert.deepEqual([...c.encode()], [0xd1, 0xc7, 1, 0x10, 1, 7, 3]);
  assert.deepEqual([...new GCounter(1).encode()], [0xd1, 0xc7, 1, 0x10, 0]);
});

it("GCounter: five replicas, deltas delivered in random orders with duplicates", () => {
  const next = rng(7);
  const reps = [1, 2, 3, 4, 5].map((id) => new GCounter(id));
  const deltas = [];
  for (let i = 0; i < 200; i++) {
    const r = reps[Math.floor(next() * reps.length)];
    deltas.push(r.increment(Math.floor(next() * 10)));
  }
  for (const r of reps) {
    for (const d of shuffled(deltas.concat(deltas.slice(0, 50)), next)) r.merge(d);
  }
  const bytes = reps[0].encode();
  for (const r of reps) assert.deepEqual(r.encode(), bytes);
  assert.equal(reps[0].value(), reps[4].value());
});

it("GCounter: value() refuses past 2^53 - 1, valueBigInt() is exact", () => {
  const c = new GCounter(1);
  c.increment(MAX_SAFE);
  assert.equal(c.value(), MAX_SAFE);
  c.increment(1);
  refuses(c, () => c.value(), /9007199254740992 is outside .* read it with valueBigInt\(\)/);
  assert.equal(c.valueBigInt(), 2n ** 53n);
  // Sums over many replicas stay exact past 2^64.
  const big = new GCounter(2);
  for (let i = 0; i < 2048; i++) big.increment(MAX_SAFE);
  c.merge(big.encode());
  assert.equal(c.valueBigInt(), 2n ** 53n + 2048n * BigInt(MAX_SAFE));
});

it("GCounter: an entry at 2^64 - 1 refuses to grow and stays unchanged", () => {
  const c = new GCounter(1);
  for (let i = 0; i < 2048; i++) c.increment(MAX_SAFE);
  // 2048 * (2^53 - 1) = 2^64 - 2048; the remaining 2047 fit, one more does not.
  c.increment(2047);
  assert.equal(c.valueBigInt(), 2n ** 64n - 1n);
  refuses(c, () => c.increment(1), /would exceed u64::MAX/);
  c.increment(0); // adding nothing is fine
});

it("GCounter: refuses bad amounts without changing", () => {
  const c = new GCounter(1);
  c.increment(5);
  for (const [n, re] of BAD_INTEGERS) refuses(c, () => c.increment(n), re);
  assert.equal(c.value(), 5);
});

it("refused numbers are printed with their shortest digits, as crdt-wasm's native build prints them", () => {
  const c = new GCounter(1);
  const cases = [
    [1.5, "1.5"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1e-7, "0.0000001"],
    [-1.5e-7, "-0.00000015"],
    [123.456, "123.456"],
    [-16103276411517024000, "-16103276411517024000"],
    [2 ** 53, "9007199254740992"],
    [1e21, "1e21"],
    [-1.5e300, "-1.5e300"],
    [Number.MAX_VALUE, "1.7976931348623157e308"],
    [5e-324, `0.${"0".repeat(323)}5`],
    [-0.5, "-0.5"],
    [NaN, "NaN"],
    [-Infinity, "-Infinity"],
  ];
  for (const [x, text] of cases) {
    assert.throws(
      () => c.increment(x),
      (e) => e.message.startsWith(`invalid amount n: ${text} is not accepted because `),
      `${x}`,
    );
  }
  assert.equal(c.value(), 0);
});
