// Real crdt-leader processes for the browser tests: a two-leader cluster on loopback
// serving the example app (--app-dir), with a peer secret and client tokens.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const WRITE_TOKEN = "browser-test-write-token-0123456789";
export const READ_TOKEN = "browser-test-read-token-0123456789";

const BIN = process.env.CRDT_LEADER_BIN;
const APP_DIR = process.env.CRDT_APP_DIR;

/** A free TCP port on 127.0.0.1 (bound, read, released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (async, truthy = done) every 100 ms for at most `ms`. */
export async function eventually(what, check, ms = 20000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what} (last: ${last})`);
    await sleep(100);
  }
}

export class Cluster {
  static async start(n = 2) {
    if (!BIN || !APP_DIR) throw new Error("set CRDT_LEADER_BIN and CRDT_APP_DIR (bash scripts/browser.sh does)");
    const c = new Cluster();
    c.dir = mkdtempSync(join(tmpdir(), "crdt-browser-"));
    writeFileSync(join(c.dir, "secret"), "browser-test-cluster-secret-0123456789\n");
    writeFileSync(join(c.dir, "tokens"), `${WRITE_TOKEN} write *\n${READ_TOKEN} read *\n`);
    c.leaders = [];
    for (let id = 1; id <= n; id++) {
      c.leaders.push({ id, http: await freePort(), peer: await freePort(), proc: null, log: "" });
    }
    for (const l of c.leaders) c.startLeader(l.id);
    for (const l of c.leaders) await c.ready(l.id);
    return c;
  }

  leader(id) {
    return this.leaders[id - 1];
  }

  url(id) {
    return `http://127.0.0.1:${this.leader(id).http}`;
  }

  startLeader(id) {
    const l = this.leader(id);
    const args = [
      "--id", String(id),
      "--data-dir", join(this.dir, `leader-${id}`),
      "--http", `127.0.0.1:${l.http}`,
      "--peer-listen", `127.0.0.1:${l.peer}`,
      "--peer-secret-file", join(this.dir, "secret"),
      "--client-tokens", join(this.dir, "tokens"),
      "--app-dir", APP_DIR,
    ];
    for (const o of this.leaders) if (o.id !== id) args.push("--peer", `${o.id}@127.0.0.1:${o.peer}`);
    l.proc = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } });
    const keep = (b) => (l.log = (l.log + b.toString()).slice(-20000));
    l.proc.stdout.on("data", keep);
    l.proc.stderr.on("data", keep);
    l.exited = new Promise((r) => l.proc.once("exit", r));
  }

  async ready(id) {
    const l = this.leader(id);
    await eventually(`leader ${id} answers /healthz`, async () => {
      if (l.proc.exitCode !== null) throw new Error(`leader ${id} exited: ${l.log}`);
      return (await fetch(`${this.url(id)}/healthz`)).ok;
    });
  }

  /** Stops leader `id` (SIGKILL: like a crash; acknowledged writes are durable). */
  async kill(id) {
    const l = this.leader(id);
    if (!l.proc) return;
    l.proc.kill("SIGKILL");
    await l.exited;
    l.proc = null;
  }

  async restart(id) {
    this.startLeader(id);
    await this.ready(id);
  }

  /** The value of `key` in `doc` at leader `id` (HTTP API), or undefined. */
  async read(id, doc, key) {
    const r = await fetch(`${this.url(id)}/v1/docs/${doc}/keys/${key}`, {
      headers: { authorization: `Bearer ${WRITE_TOKEN}` },
    });
    if (r.status === 404) return undefined;
    if (!r.ok) throw new Error(`read ${key}: HTTP ${r.status}`);
    return (await r.json()).value;
  }

  async write(id, doc, key, body) {
    const r = await fetch(`${this.url(id)}/v1/docs/${doc}/keys/${key}`, {
      method: "POST",
      headers: { authorization: `Bearer ${WRITE_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`write ${key}: HTTP ${r.status} ${await r.text()}`);
  }

  /** One metric's value summed over its series (`GET /metrics`). */
  async metric(id, name, label) {
    const text = await (await fetch(`${this.url(id)}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(name)) continue;
      const m = line.match(/^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/);
      if (m && m[1] === name && (!label || (m[2] ?? "").includes(label))) sum += Number(m[3]);
    }
    return sum;
  }

  async stop() {
    for (const l of this.leaders) {
      if (l.proc) {
        l.proc.kill("SIGTERM");
        await Promise.race([l.exited, sleep(5000)]);
        l.proc?.kill("SIGKILL");
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
