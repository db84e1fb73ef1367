import { it } from "node:test";
import assert from "node:assert/strict";
import { wasm, MAX_SAFE, BAD_INTEGERS, refuses, rng, shuffled } from "./support.mjs";

const { PnCounter } = wasm;

it("PnCounter: increments and decrements converge to identical bytes", () => {
  const next = rng(11);
  const reps = [10, 20, 30].map((id) => new PnCounter(id));
  const deltas = [];
  let expected = 0;
  for (let i = 0; i < 300; i++) {
    const r = reps[Math.floor(next() * 3)];
    const n = Math.floor(next() * 100);
    if (next() < 0.5) {
      deltas.push(r.increment(n));
      expected += n;
    } else {
      deltas.push(r.decrement(n));
      expected -= n;
    }
  }
  for (const r of reps) for (const d of shuffled(deltas, next)) r.merge(d);
  for (const r of reps) {
    assert.equal(r.value(), expected);
    assert.deepEqual(r.encode(), reps[0].encode());
  }
});

it("PnCounter: defaults to steps of 1 and goes negative", () => {
  const c = new PnCounter(1);
  c.decrement();
  c.decrement();
  c.increment();
  assert.equal(c.value(), -1);
  assert.equal(c.valueBigInt(), -1n);
  assert.deepEqual([...c.encode()], [0xd1, 0xc7, 1, 0x11, 1, 1, 1, 2]);
});

it("PnCounter: value() refuses beyond ±(2^53 - 1), valueBigInt() is exact", () => {
  const c = new PnCounter(1);
  c.decrement(MAX_SAFE);
  assert.equal(c.value(), -MAX_SAFE);
  c.decrement(1);
  refuses(c, () => c.value(), /value -9007199254740992 is outside .* read it with valueBigInt\(\)/);
  assert.equal(c.valueBigInt(), -(2n ** 53n));
});

it("PnCounter: refuses bad amounts and overflow without changing", () => {
  const c = new PnCounter(1);
  for (const [n, re] of BAD_INTEGERS) {
    refuses(c, () => c.increment(n), re);
    refuses(c, () => c.decrement(n), re);
  }
  for (let i = 0; i < 2048; i++) c.increment(MAX_SAFE);
  c.increment(2047);
  refuses(c, () => c.increment(1), /would exceed u64::MAX/);
  c.decrement(1); // the decrement total is separate
  assert.equal(c.valueBigInt(), 2n ** 64n - 2n);
});
