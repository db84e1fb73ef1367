import { it } from "node:test";
import assert from "node:assert/strict";
import { wasm, MAX_SAFE, BAD_INTEGERS, refuses } from "./support.mjs";

const { LwwRegister } = wasm;

it("LwwRegister: the later write wins on every replica", () => {
  const a = new LwwRegister(1);
  const b = new LwwRegister(2);
  assert.equal(a.get(), undefined);
  const d1 = a.set("from a", 1000);
  const d2 = b.set("from b", 2000); // concurrent, later clock
  a.merge(d2);
  b.merge(d1);
  assert.equal(a.get(), "from b");
  assert.equal(b.get(), "from b");
  assert.deepEqual(a.encode(), b.encode());
});

it("LwwRegister: a write after one it has seen wins even with a clock behind", () => {
  const a = new LwwRegister(1);
  const b = new LwwRegister(2);
  b.merge(a.set("first", Date.now() + 60_000)); // a's clock runs a minute ahead
  const d = b.set("second", Date.now());
  a.merge(d);
  assert.equal(a.get(), "second");
  assert.deepEqual(a.encode(), b.encode());
});

it("LwwRegister: equal timestamps are ordered by replica id", () => {
  const a = new LwwRegister(1);
  const b = new LwwRegister(2);
  const d1 = a.set("one", 5);
  const d2 = b.set("two", 5);
  a.merge(d2);
  b.merge(d1);
  assert.equal(a.get(), "two");
  assert.equal(b.get(), "two");
});

it("LwwRegister: decode restores the value", () => {
  const a = new LwwRegister(1);
  a.set("ünïcødé 😀", MAX_SAFE);
  const b = LwwRegister.decode(a.encode(), 1);
  assert.equal(b.get(), "ünïcødé 😀");
  assert.deepEqual(b.encode(), a.encode());
  b.set("next", 0); // still orders after the write it holds
  assert.equal(b.get(), "next");
});

it("LwwRegister: refuses bad values and timestamps without changing", () => {
  const r = new LwwRegister(1);
  r.set("keep", 10);
  for (const [t, re] of BAD_INTEGERS) refuses(r, () => r.set("x", t), re);
  refuses(r, () => r.set("x"), /timestamp nowMs must be a number, not undefined/);
  refuses(r, () => r.set("x", new Date()), /timestamp nowMs must be a number, not object: .*Date.now\(\)/);
  const types = [
    [undefined, "undefined"],
    [null, "null"],
    [1, "number"],
    [1n, "bigint"],
    [{}, "object"],
    [["x"], "an Array"],
  ];
  for (const [v, type] of types) {
    refuses(r, () => r.set(v, 11), `value must be a string, not ${type}: pass a string`);
  }
  refuses(
    r,
    () => r.set("\ud800", 11),
    "invalid value: the string contains a lone UTF-16 surrogate, which cannot be stored " +
      "without changing it: fix the string (String.prototype.toWellFormed() replaces lone " +
      "surrogates with U+FFFD)",
  );
  refuses(
    r,
    () => r.set("x".repeat((1 << 20) + 1), 11),
    "value too large (1048577 > 1048576): store large data elsewhere and set a key or hash of it",
  );
  assert.equal(r.get(), "keep");
});
