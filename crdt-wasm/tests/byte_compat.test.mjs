// Byte compatibility: the wasm build's Doc must produce exactly the bytes the native
// build recorded in vectors/doc_ops.json (checked natively by tests/byte_compat.rs); so
// must the Doc-only build's.
import { it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { docBuild, wasm } from "./support.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const VECTOR = path.join(here, "vectors", "doc_ops.json");
const hex = (b) => Buffer.from(b).toString("hex");

/** Runs the steps with a build's `Doc`; returns each step's output (undefined for none). */
function run(Doc, steps) {
  const docs = new Map();
  const snapshots = new Map();
  const route = new Map(); // replica id -> the latest Doc made or restored under it
  const add = (name, d) => {
    docs.set(name, d);
    route.set(d.replicaId, d);
  };
  return steps.map(({ doc: name, call, args }) => {
    const d = docs.get(name);
    switch (call) {
      case "new":
        add(name, new Doc(...args));
        return undefined;
      case "restore":
        add(name, Doc.restore(snapshots.get(args[0]), args[1]));
        return undefined;
      case "addPeer":
      case "tick":
        d[call](...args);
        return undefined;
      case "persisted":
        d.persisted(snapshots.get(name));
        return undefined;
      case "snapshot": {
        const s = d.snapshot();
        snapshots.set(name, s);
        return hex(s);
      }
      case "get":
        return d.get(...args) ?? null;
      case "deliver": {
        const out = [];
        for (let t = d.pollTransmit(); t !== undefined; t = d.pollTransmit()) {
          route.get(t.to).receive(d.replicaId, t.bytes);
          out.push([t.to, hex(t.bytes)]);
        }
        return out;
      }
      default:
        return hex(d[call](...args));
    }
  });
}

const BUILDS = [
  ["the wasm Doc", wasm.Doc],
  ["the Doc-only build's Doc", (await docBuild()).Doc],
];

for (const [name, Doc] of BUILDS) {
  it(`${name} encodes every step of the shared vector byte for byte`, () => {
    const { steps } = JSON.parse(readFileSync(VECTOR, "utf8"));
    const outputs = run(Doc, steps);
    let checked = 0;
    for (const [i, step] of steps.entries()) {
      assert.deepEqual(outputs[i], step.out, `step ${i}: ${step.doc}.${step.call}(${JSON.stringify(step.args)})`);
      if (step.out !== undefined) checked++;
    }
    assert.ok(checked >= 40, `only ${checked} outputs checked`);
    const calls = new Set(steps.map((s) => s.call));
    for (const c of ["increment", "decrement", "incrementGCounter", "insert", "remove", "setLww", "setMv", "delete"]) {
      assert.ok(calls.has(c), `the vector has no ${c} step`);
    }
  });
}
