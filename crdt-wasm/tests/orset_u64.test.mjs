import { it } from "node:test";
import assert from "node:assert/strict";
import { wasm, MAX_SAFE, refuses, rng, shuffled } from "./support.mjs";

const { OrSetU64 } = wasm;

it("OrSetU64: numbers and BigInts name the same elements", () => {
  const s = new OrSetU64(1);
  s.insert(5);
  s.insert(3n);
  assert.ok(s.has(5n) && s.has(3));
  assert.deepEqual(s.values(), [3, 5]);
  assert.deepEqual(s.valuesBigInt(), [3n, 5n]);
  s.remove(5n);
  assert.equal(s.size, 1);
  s.insert(-0); // -0 is 0
  assert.deepEqual(s.values(), [0, 3]);
});

it("OrSetU64: replicas converge to identical bytes", () => {
  const next = rng(5);
  const reps = [1, 2, 3].map((id) => new OrSetU64(id));
  const deltas = [];
  for (let i = 0; i < 500; i++) {
    const r = reps[Math.floor(next() * 3)];
    const n = Math.floor(next() * 50);
    deltas.push(next() < 0.7 ? r.insert(n) : r.remove(n));
  }
  for (const r of reps) for (const d of shuffled(deltas, next)) r.merge(d);
  for (const r of reps) assert.deepEqual(r.encode(), reps[0].encode());
  const vals = reps[0].values();
  assert.deepEqual(vals, vals.slice().sort((a, b) => a - b));
});

it("OrSetU64: elements past 2^53 - 1 need valuesBigInt()", () => {
  const s = new OrSetU64(1);
  s.insert(MAX_SAFE);
  assert.deepEqual(s.values(), [MAX_SAFE]);
  s.insert(2n ** 53n);
  s.insert(2n ** 64n - 1n);
  refuses(s, () => s.values(), /element 9007199254740992 is outside .* valuesBigInt\(\)/);
  assert.deepEqual(s.valuesBigInt(), [BigInt(MAX_SAFE), 2n ** 53n, 2n ** 64n - 1n]);
  assert.ok(s.has(2n ** 64n - 1n));
});

it("OrSetU64: refuses bad elements without changing", () => {
  const s = new OrSetU64(1);
  s.insert(1);
  const advice =
    "pass an integer in 0..=Number.MAX_SAFE_INTEGER, or a BigInt in 0n..=2n**64n-1n " +
    "(OrSet holds strings)";
  const type = (t) => `element must be a number or a BigInt, not ${t}: ${advice}`;
  const num = (x, why) => `invalid element: ${x} is not accepted because ${why}: ${advice}`;
  const big = `invalid element: the BigInt is outside 0n..=2n**64n-1n: ${advice}`;
  const bad = [
    [undefined, type("undefined")],
    [null, type("null")],
    ["1", type("string")],
    [{}, type("object")],
    [NaN, num("NaN", "it is NaN")],
    [-1, num("-1", "it is negative")],
    [1.25, num("1.25", "it is not a whole number")],
    [Infinity, num("Infinity", "it is infinite")],
    [
      2 ** 53,
      num(
        "9007199254740992",
        "it is above Number.MAX_SAFE_INTEGER (2^53 - 1), where numbers are no longer exact",
      ),
    ],
    [-1n, big],
    [2n ** 64n, big],
    [-(2n ** 70n), big],
  ];
  for (const [x, re] of bad) {
    refuses(s, () => s.insert(x), re);
    refuses(s, () => s.remove(x), re);
    refuses(s, () => s.has(x), re);
  }
  assert.deepEqual(s.values(), [1]);
});
