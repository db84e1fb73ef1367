import { it } from "node:test";
import assert from "node:assert/strict";
import { wasm, refuses, rng, shuffled } from "./support.mjs";

const { OrSet } = wasm;

it("OrSet: insert, remove, has, values, size, clear", () => {
  const s = new OrSet(1);
  assert.equal(s.size, 0);
  s.insert("b");
  s.insert("a");
  s.insert("b"); // re-adding a present element keeps one copy
  assert.equal(s.size, 2);
  assert.deepEqual(s.values(), ["a", "b"]);
  assert.equal(s.has("a"), true);
  assert.equal(s.has("c"), false);
  const d = s.remove("c"); // absent: a no-op delta
  assert.ok(d instanceof Uint8Array);
  s.remove("a");
  assert.deepEqual(s.values(), ["b"]);
  s.clear();
  assert.equal(s.size, 0);
  assert.deepEqual(s.values(), []);
});

it("OrSet: a concurrent add wins over a remove", () => {
  const a = new OrSet(1);
  const b = new OrSet(2);
  b.merge(a.insert("milk"));
  const readd = a.insert("milk"); // concurrent with b's remove
  const rm = b.remove("milk");
  a.merge(rm);
  b.merge(readd);
  assert.ok(a.has("milk") && b.has("milk"));
  assert.deepEqual(a.encode(), b.encode());
});

it("OrSet: three replicas converge to identical bytes in any delivery order", () => {
  const next = rng(3);
  const reps = [1, 2, 3].map((id) => new OrSet(id));
  const deltas = reps.map(() => []);
  const words = Array.from({ length: 40 }, (_, i) => `w${i % 25}-${"x".repeat(i % 3)}`);
  for (let i = 0; i < 400; i++) {
    const k = Math.floor(next() * 3);
    const w = words[Math.floor(next() * words.length)];
    const d = next() < 0.6 ? reps[k].insert(w) : reps[k].remove(w);
    deltas[k].push(d);
    // Sometimes a replica hears from another one mid-way.
    if (next() < 0.1) {
      const j = (k + 1) % 3;
      for (const x of deltas[j]) reps[k].merge(x);
    }
  }
  const all = deltas.flat();
  for (const r of reps) for (const d of shuffled(all, next)) r.merge(d);
  const bytes = reps[0].encode();
  for (const r of reps) {
    assert.deepEqual(r.encode(), bytes);
    assert.deepEqual(r.values(), reps[0].values());
  }
  // A full state merges like the deltas do.
  const late = new OrSet(4);
  late.merge(bytes);
  assert.deepEqual(late.encode(), bytes);
});

it("OrSet: unicode strings round-trip exactly; values are ordered by UTF-8 bytes", () => {
  const s = new OrSet(1);
  const items = ["z", "é", "😀", "a\u0000b", "", "Z", "\uffff"];
  for (const x of items) s.insert(x);
  const t = OrSet.decode(s.encode(), 2);
  const utf8 = (x) => Buffer.from(x, "utf8");
  assert.deepEqual(t.values(), items.slice().sort((x, y) => Buffer.compare(utf8(x), utf8(y))));
  for (const x of items) assert.ok(t.has(x), JSON.stringify(x));
});

it("OrSet: refuses non-strings, lone surrogates and oversized strings without changing", () => {
  const s = new OrSet(1);
  s.insert("keep");
  const wrongType = [
    [undefined, "undefined"],
    [null, "null"],
    [5, "number"],
    [5n, "bigint"],
    [{}, "object"],
    [["a"], "an Array"],
    [Symbol("a"), "symbol"],
    [new String("boxed"), "object"],
  ];
  for (const [bad, type] of wrongType) {
    // A string set's advice, not OrSetU64's integer advice.
    const msg = `element must be a string, not ${type}: pass a string (OrSetU64 holds integers)`;
    refuses(s, () => s.insert(bad), msg);
    refuses(s, () => s.remove(bad), msg);
    refuses(s, () => s.has(bad), msg);
  }
  const surrogate =
    "invalid element: the string contains a lone UTF-16 surrogate, which cannot be stored " +
    "without changing it: fix the string (String.prototype.toWellFormed() replaces lone " +
    "surrogates with U+FFFD)";
  for (const lone of ["\ud800", "a\udc00b", "\udbff"]) {
    refuses(s, () => s.insert(lone), surrogate);
    refuses(s, () => s.has(lone), surrogate);
    refuses(s, () => s.remove(lone), surrogate);
  }
  const max = 1 << 20;
  const tooLarge = (n) =>
    `element too large (${n} > 1048576): store large data elsewhere and insert a key or hash of it`;
  refuses(s, () => s.insert("x".repeat(max + 1)), tooLarge(1048577));
  // 2-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
  refuses(s, () => s.insert("é".repeat(max / 2 + 1)), tooLarge(1048578));
  assert.equal(s.has("x".repeat(max + 1)), false); // lookups are not bounded
  s.insert("x".repeat(max)); // exactly the limit is fine
  assert.equal(s.size, 2);
});
