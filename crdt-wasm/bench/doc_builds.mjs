// Compares builds of the crdt-wasm module on Doc workloads: the cost of a size option
// (opt-level, features) in speed (docs/WASM.md, "Size"). `bench.mjs` measures the
// per-type classes, which a Doc-only build does not have.
//
// Usage: node crdt-wasm/bench/doc_builds.mjs [--rounds 15] [--n 10000] DIR...
// Each DIR holds a --target web build (crdt_wasm.js and its crdt_wasm_bg.wasm), such as
// target/wasm/pkg/doc or target/wasm/pkg/web; copy one aside before rebuilding with
// other settings (WASM_OPT_LEVEL=z bash scripts/wasm.sh package). The builds take turns
// in every round, so that load from elsewhere on the machine hits them alike; each
// figure is the fastest of the rounds, in ms, and the last line is the geometric mean of
// each build's ratios to the first.
//
// The workload, in one Doc with a peer: n inserts into 10 OR-Sets, n increments of 100
// PN-Counters, n LWW writes to fresh keys; syncing everything to the peer (pollTransmit,
// receive, tick until quiet); the peer reading every key; its snapshot(); Doc.restore.
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : Number(args.splice(i, 2)[1]);
};
const ROUNDS = opt("--rounds", 15);
const N = opt("--n", 10000);
const dirs = args;
if (dirs.length === 0) {
  console.error("usage: node crdt-wasm/bench/doc_builds.mjs [--rounds 15] [--n 10000] DIR...");
  process.exit(2);
}

const builds = [];
for (const dir of dirs) {
  // The query string makes each directory a module instance of its own.
  const url = pathToFileURL(path.resolve(dir, "crdt_wasm.js")).href + `?${builds.length}`;
  const mod = await import(url);
  mod.initSync({ module: readFileSync(path.resolve(dir, "crdt_wasm_bg.wasm")) });
  builds.push(mod.Doc);
}

function settle(docs) {
  const byId = new Map(docs.map((d) => [d.replicaId, d]));
  for (let round = 0; round < 10000; round++) {
    let sent = 0;
    for (const d of docs) {
      for (let t = d.pollTransmit(); t !== undefined; t = d.pollTransmit()) {
        byId.get(t.to).receive(d.replicaId, t.bytes);
        sent++;
      }
      d.tick();
    }
    if (sent === 0) return;
  }
  throw new Error("the Docs did not settle");
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

function workload(Doc, n, nonce, record) {
  const a = new Doc(1);
  const b = new Doc(2);
  a.addPeer(2);
  b.addPeer(1);
  let t = now();
  const lap = (name) => {
    const x = now();
    record(name, x - t);
    t = x;
  };
  for (let i = 0; i < n; i++) a.insert(`s${i % 10}`, `e${i}`);
  lap(`${n} OR-Set inserts`);
  for (let i = 0; i < n; i++) a.increment(`c${i % 100}`, 1);
  lap(`${n} increments`);
  for (let i = 0; i < n; i++) a.setLww(`k${i}`, `v${i}`, 1000 + i);
  lap(`${n} setLww (new keys)`);
  settle([a, b]);
  lap("sync to the peer");
  for (const k of b.keys()) b.get(k);
  lap("keys() and get(k) of each");
  const snapshot = b.snapshot();
  lap(`snapshot() (${snapshot.length} bytes)`);
  Doc.restore(snapshot, nonce).free();
  lap("Doc.restore");
  a.free();
  b.free();
}

const results = builds.map(() => new Map());
for (let round = 0; round < ROUNDS; round++) {
  builds.forEach((Doc, i) =>
    workload(Doc, N, BigInt(round + 1), (name, ms) => {
      const m = results[i];
      m.set(name, Math.min(m.get(name) ?? Infinity, ms));
    }),
  );
}

const names = [...results[0].keys()];
console.log(`| workload (ms, fastest of ${ROUNDS}) | ${dirs.join(" | ")} |`);
console.log(`|---|${dirs.map(() => "---:").join("|")}|`);
for (const name of names) console.log(`| ${name} | ${results.map((r) => r.get(name).toFixed(2)).join(" | ")} |`);
const geomean = results.map((r) =>
  Math.exp(names.reduce((s, k) => s + Math.log(r.get(k) / results[0].get(k)), 0) / names.length),
);
console.log(`| geometric mean vs the first | ${geomean.map((g) => `${g.toFixed(2)}x`).join(" | ")} |`);
