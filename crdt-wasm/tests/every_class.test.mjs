// What every class shares: replica ids, merge/encode/decode, and refusing bad input.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  wasm,
  MAX_SAFE,
  BAD_IDS,
  NOT_BYTES,
  refuses,
  checkCorruptions,
  oneOfEach,
  rng,
} from "./support.mjs";

// Each class with a function that makes a replica hold a non-trivial state.
const CLASSES = {
  GCounter: (o) => {
    o.increment(3);
    o.increment(300);
  },
  PnCounter: (o) => {
    o.increment(1000);
    o.decrement(7);
  },
  OrSet: (o) => {
    for (const s of ["milk", "eggs", "ünïcødé", "", "🥛"]) o.insert(s);
    o.remove("eggs");
  },
  OrSetU64: (o) => {
    for (const n of [0, 1, 127, 128, 2 ** 40, MAX_SAFE]) o.insert(n);
    o.insert(2n ** 64n - 1n);
    o.remove(128);
  },
  LwwRegister: (o) => {
    o.set("hello", 1_700_000_000_000);
    o.set("world", 1_700_000_000_001);
  },
};

for (const [name, fill] of Object.entries(CLASSES)) {
  const Class = wasm[name];
  describe(name, () => {
    it("takes a replica id in 0..=MAX_SAFE_INTEGER and reports it", () => {
      for (const id of [0, 1, 42, MAX_SAFE, -0]) {
        const o = new Class(id);
        assert.equal(o.replicaId, id === -0 ? 0 : id);
        o.free();
      }
    });

    it("refuses bad replica ids in the constructor and in decode", () => {
      const bytes = new Class(1).encode();
      for (const [id, re] of BAD_IDS) {
        assert.throws(() => new Class(id), re, `new ${name}(${String(id)})`);
        assert.throws(() => Class.decode(bytes, id), re);
      }
      assert.throws(() => new Class(), /replica id must be a number, not undefined/);
    });

    it("round-trips through encode/decode, canonically", () => {
      const a = new Class(1);
      fill(a);
      const bytes = a.encode();
      assert.ok(bytes instanceof Uint8Array);
      assert.deepEqual([...bytes.subarray(0, 3)], [0xd1, 0xc7, 1]);
      const b = Class.decode(bytes, 2);
      assert.equal(b.replicaId, 2);
      assert.deepEqual(b.encode(), bytes);
      // A Node Buffer is a Uint8Array and is accepted too.
      const c = Class.decode(Buffer.from(bytes), 3);
      assert.deepEqual(c.encode(), bytes);
      // Merging a state into itself (idempotence) or into a copy changes nothing.
      a.merge(bytes);
      b.merge(a.encode());
      assert.deepEqual(a.encode(), bytes);
      assert.deepEqual(b.encode(), bytes);
    });

    it("refuses non-Uint8Array bytes without changing the object", () => {
      const o = new Class(1);
      fill(o);
      const msg = (type) =>
        `bytes must be a Uint8Array, not ${type}: ` +
        "pass the Uint8Array returned by a mutator or by encode()";
      const types = ["undefined", "null", "string", "number", "an Array"];
      for (const [i, bad] of NOT_BYTES.entries()) {
        const m = msg(types[i] ?? "object");
        refuses(o, () => o.merge(bad), m);
        assert.throws(() => Class.decode(bad, 1), { message: m });
      }
      refuses(o, () => o.merge(), msg("undefined"));
    });

    it("refuses the other classes' encodings (type tag) and garbage", () => {
      const o = new Class(1);
      fill(o);
      for (const [other, bytes] of Object.entries(oneOfEach())) {
        if (other === name) continue;
        refuses(o, () => o.merge(bytes), /the bytes encode .*, not /);
        assert.throws(() => Class.decode(bytes, 1), new RegExp(`^Error: ${name}: cannot use these bytes`));
      }
      refuses(o, () => o.merge(new Uint8Array(0)), /truncated/);
      refuses(o, () => o.merge(new TextEncoder().encode("hello world")), /not crdt-core data/);
      const future = Uint8Array.from(o.encode());
      future[2] = 2;
      refuses(o, () => o.merge(future), /format version 2 is not supported/);
    });

    it("refuses every truncation, trailing byte and invalid bit flip", () => {
      const o = new Class(1);
      fill(o);
      const target = new Class(9);
      fill(target);
      const { flips, rejected } = checkCorruptions(Class, o, target);
      assert.ok(rejected > flips / 4, `${rejected} of ${flips} bit flips rejected`);
    });

    it("refuses random bodies behind a valid header without trapping", () => {
      const o = new Class(1);
      fill(o);
      const header = o.encode().subarray(0, 4);
      const next = rng(name.length);
      let accepted = 0;
      for (let i = 0; i < 2000; i++) {
        const body = Uint8Array.from({ length: Math.floor(next() * 24) }, () => Math.floor(next() * 256));
        const bytes = new Uint8Array(4 + body.length);
        bytes.set(header);
        bytes.set(body, 4);
        try {
          Class.decode(bytes, 1).free();
          accepted++;
          o.merge(bytes); // valid: merging it must work too
        } catch (e) {
          assert.ok(!(e instanceof WebAssembly.RuntimeError), `trapped: ${e.stack}`);
          refuses(o, () => o.merge(bytes), /cannot use these bytes/);
        }
      }
      assert.ok(accepted < 2000);
    });

    it("refuses input over the decode limit before copying it", () => {
      const o = new Class(1);
      fill(o);
      const huge = new Uint8Array(64 * 1024 * 1024 + 1);
      refuses(o, () => o.merge(huge), /bytes too large \(67108865 > 67108864\)/);
      assert.throws(() => Class.decode(huge, 1), /bytes too large/);
    });

    it("throws (not crashes) when used after free()", () => {
      const o = new Class(1);
      o.free();
      assert.throws(() => o.encode());
      // The module is still usable afterwards.
      const p = new Class(2);
      fill(p);
      assert.ok(p.encode().length > 4);
    });
  });
}
