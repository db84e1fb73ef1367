// The browser build (--target web) is the same module behind an ES-module loader; load
// it in Node with initSync to check it works.
import { it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { PKG, wasm } from "./support.mjs";

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
