// The browser build (--target web) is the same module behind an ES-module loader; load
// it in Node with initSync to check it works.
import { it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { PKG, docBuild, wasm } from "./support.mjs";

it("the web build initialises and interoperates with the nodejs build", async () => {
  const dir = path.join(PKG, "web");
  const web = await import(pathToFileURL(path.join(dir, "crdt_wasm.js")).href);
  web.initSync({ module: readFileSync(path.join(dir, "crdt_wasm_bg.wasm")) });
  const a = new web.OrSet(1);
  const b = new wasm.OrSet(2);
  b.merge(a.insert("from the web build"));
  a.merge(b.insert("from the nodejs build"));
  assert.deepEqual(a.encode(), b.encode());
  assert.throws(() => new web.GCounter(-1), /invalid replica id/);
});

it("the Doc-only build (doc/) exports Doc alone, which syncs with the nodejs build's Doc", async () => {
  const doc = await docBuild();
  const classes = Object.keys(doc).filter((k) => /^[A-Z]/.test(k));
  assert.deepEqual(classes, ["Doc"]);
  const a = new doc.Doc(1);
  const b = new wasm.Doc(2);
  a.addPeer(2);
  b.addPeer(1);
  a.insert("list", "milk");
  b.increment("likes", 2);
  for (let moved = true; moved; ) {
    moved = false;
    for (const [x, y] of [[a, b], [b, a]]) {
      for (let t; (t = x.pollTransmit()); moved = true) y.receive(x.replicaId, t.bytes);
    }
  }
  for (const d of [a, b]) assert.deepEqual([d.get("list"), d.get("likes")], [["milk"], 2]);
  assert.deepEqual(a.causalToken(), b.causalToken());
  assert.throws(() => new doc.Doc(-1), /invalid replica id: -1/);
  assert.throws(() => a.insert("list", 5), /must be a string, not number/);
});
