// The npm package (scripts/wasm.sh package), as a user gets it: `npm pack`ed and
// installed into an npm project of its own (scripts/wasm.sh test does that), then
// loaded by its name through package.json ("main", "exports"), never by a path into
// the build directory. Node gets the CommonJS build; the "browser" condition gets the
// ES module, which is initialised the way a browser does it: fetching the .wasm over
// HTTP (served as application/wasm, so WebAssembly.instantiateStreaming is used).
import { it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The npm project with the packed package installed (scripts/wasm.sh sets it). */
const CONSUMER =
  process.env.CRDT_WASM_CONSUMER ?? path.join(here, "../../target/wasm/consumer");
const INSTALLED = path.join(CONSUMER, "node_modules", "crdt-wasm");
const manifest = JSON.parse(readFileSync(path.join(INSTALLED, "package.json"), "utf8"));
const run = promisify(execFile);

/** Runs an ES module `source` with `node` in the consumer project (bare imports resolve there). */
async function runModule(source, ...flags) {
  const { stdout } = await run(process.execPath, [...flags, "--input-type=module", "-e", source], {
    cwd: CONSUMER,
  });
  return JSON.parse(stdout);
}

/** Two Docs that sync a write each way; returns what `b` reads. Stringified into children. */
const SYNC = `
  const a = new Doc(1), b = new Doc(2);
  a.addPeer(2); b.addPeer(1);
  a.insert("list", "milk"); a.increment("likes", 2); a.setLww("title", "Groceries", 5);
  b.insert("list", "eggs");
  for (let moved = true; moved; ) {
    moved = false;
    for (const [x, y] of [[a, b], [b, a]]) {
      for (let t; (t = x.pollTransmit()); moved = true) y.receive(x.replicaId, t.bytes);
    }
  }
  const out = { list: b.get("list"), likes: b.get("likes"), title: b.get("title"),
                same: a.snapshot().length > 0 && String(a.causalToken()) === String(b.causalToken()) };
`;

it("package.json: name and version from Cargo, and every file it names is in the packed package", () => {
  const cargo = readFileSync(path.join(here, "../../Cargo.toml"), "utf8");
  const version = /\[workspace\.package\][^[]*?\nversion = "([^"]+)"/.exec(cargo)[1];
  assert.equal(manifest.name, "crdt-wasm");
  assert.equal(manifest.version, version);
  const targets = [manifest.main, manifest.module, manifest.types];
  const walk = (x) => (typeof x === "string" ? targets.push(x) : Object.values(x).forEach(walk));
  walk(manifest.exports);
  for (const t of targets) assert.ok(existsSync(path.join(INSTALLED, t)), `${t} is missing`);
  // Each build's .wasm, and its typings next to it.
  for (const dir of ["nodejs", "web", "doc"]) {
    for (const f of ["crdt_wasm.js", "crdt_wasm.d.ts", "crdt_wasm_bg.wasm"]) {
      assert.ok(existsSync(path.join(INSTALLED, dir, f)), `${dir}/${f} is missing`);
    }
  }
});

it("the typings declare every export, and document every member of Doc", () => {
  const require = createRequire(path.join(CONSUMER, "package.json"));
  const exported = Object.keys(require("crdt-wasm"));
  for (const dir of ["nodejs", "web"]) {
    const dts = readFileSync(path.join(INSTALLED, dir, "crdt_wasm.d.ts"), "utf8");
    for (const name of exported) assert.match(dts, new RegExp(`export class ${name} \\{`), `${dir}: ${name}`);
    const doc = /\*\/\nexport class Doc \{\n([\s\S]*?)\n\}/.exec(dts);
    assert.ok(doc, `${dir}: Doc has no doc comment`);
    const lines = doc[1].split("\n");
    let members = 0;
    lines.forEach((line, i) => {
      const member = /^ {4}(?:static |readonly )?([A-Za-z]+)\(|^ {4}readonly ([A-Za-z]+):/.exec(line);
      if (!member || line.includes("free(): void")) return;
      members += 1;
      assert.equal(lines[i - 1], "     */", `${dir}: Doc member without a doc comment: ${line.trim()}`);
    });
    assert.ok(members >= 25, `${dir}: only ${members} documented members of Doc`);
  }
  const web = readFileSync(path.join(INSTALLED, "web", "crdt_wasm.d.ts"), "utf8");
  assert.match(web, /export default function __wbg_init/);
  // metrics(): DocMetrics declares exactly the keys it returns.
  assert.match(web, /metrics\(\): DocMetrics;/);
  const declared = /export interface DocMetrics \{([\s\S]*?)\n\}/.exec(web)[1];
  const keys = [...declared.matchAll(/^ {4}(\w+):/gm)].map((m) => m[1]);
  const { Doc } = require("crdt-wasm");
  assert.deepEqual(keys, Object.keys(new Doc(1).metrics()));
});

it("require('crdt-wasm') loads the nodejs build by the package's name, and Doc syncs", () => {
  const require = createRequire(path.join(CONSUMER, "package.json"));
  const resolved = require.resolve("crdt-wasm");
  assert.equal(resolved, path.join(INSTALLED, "nodejs", "crdt_wasm.js"));
  const { Doc } = require("crdt-wasm");
  const out = new Function("Doc", `${SYNC}; return out;`)(Doc);
  assert.deepEqual(out, { list: ["eggs", "milk"], likes: 2, title: "Groceries", same: true });
  assert.throws(() => new Doc(-1), /invalid replica id: -1/);
});

it("import from 'crdt-wasm' in Node (ES module) gets the nodejs build, ready without init", async () => {
  const out = await runModule(`
    import { Doc } from "crdt-wasm";
    ${SYNC}
    out.resolved = import.meta.resolve("crdt-wasm");
    console.log(JSON.stringify(out));
  `);
  assert.equal(out.resolved.endsWith("/node_modules/crdt-wasm/nodejs/crdt_wasm.js"), true, out.resolved);
  delete out.resolved;
  assert.deepEqual(out, { list: ["eggs", "milk"], likes: 2, title: "Groceries", same: true });
});

it("the browser entry is an ES module that init() loads over HTTP, as in a page", async (t) => {
  // Serves the installed package as a web server would serve it to a page.
  const server = createServer((req, res) => {
    const file = path.join(INSTALLED, decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!file.startsWith(INSTALLED + path.sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith(".wasm") ? "application/wasm" : "text/javascript";
    res.writeHead(200, { "content-type": type }).end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.address().port}`;
  const out = await runModule(
    `
    import init, { Doc } from "crdt-wasm";
    const warnings = [];
    console.warn = (...w) => warnings.push(w.join(" "));
    const requests = [];
    const fetch0 = globalThis.fetch;
    globalThis.fetch = (url, ...rest) => { requests.push(String(url)); return fetch0(url, ...rest); };
    await init({ module_or_path: "${base}/web/crdt_wasm_bg.wasm" });
    ${SYNC}
    out.resolved = import.meta.resolve("crdt-wasm");
    out.requests = requests;
    out.warnings = warnings;
    console.log(JSON.stringify(out));
  `,
    "--conditions=browser",
  );
  assert.equal(out.resolved.endsWith("/node_modules/crdt-wasm/web/crdt_wasm.js"), true, out.resolved);
  // One request, and no warning: instantiateStreaming accepted the response (it warns
  // and falls back to a slower path when the MIME type is wrong).
  assert.deepEqual(out.requests, [`${base}/web/crdt_wasm_bg.wasm`]);
  assert.deepEqual(out.warnings, []);
  for (const k of ["resolved", "requests", "warnings"]) delete out[k];
  assert.deepEqual(out, { list: ["eggs", "milk"], likes: 2, title: "Groceries", same: true });
});
