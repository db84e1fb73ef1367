// The example app and openDoc in headless Chromium against two real crdt-leader
// processes (issue 13): offline edits with a reload, tabs syncing over BroadcastChannel
// while their server is down, a forged write, a wrong token. Each test saves
// screenshots in $CRDT_BROWSER_OUT (target/browser). Run: bash scripts/browser.sh
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Cluster, READ_TOKEN, WRITE_TOKEN, eventually, sleep } from "./cluster.mjs";

const OUT = process.env.CRDT_BROWSER_OUT ?? "target/browser";
mkdirSync(OUT, { recursive: true });
let browser;
let cluster;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  cluster = await Cluster.start(2);
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

/** Opens the app of leader `id` for document `doc` and waits for `status`. */
async function openApp(context, id, doc, { token = WRITE_TOKEN, status = "synced" } = {}) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${cluster.url(id)}/app/?doc=${doc}#token=${token}`);
  if (status) await waitStatus(page, status);
  return page;
}

async function waitStatus(page, status) {
  await page.waitForFunction((s) => window.crdtDoc?.status === s, status, { timeout: 20000 });
}

/** What the page shows: title, likes, items. */
async function shown(page) {
  return page.evaluate(() => ({
    title: document.getElementById("title").textContent,
    likes: Number(document.getElementById("likes").textContent),
    items: [...document.querySelectorAll("#items li")].map((li) => li.dataset.item),
  }));
}

async function addItem(page, item) {
  await page.fill("#item-input", item);
  await page.click("#item-add");
  await page.waitForSelector(`#items li[data-item="${item}"]`);
}

/** Waits until every write of the page is stored (a write resolves once stored). */
async function stored(page) {
  await page.evaluate(() => window.crdtDoc.increment("saves"));
}

async function shot(page, name) {
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

test("(a) pages on two leaders edit offline, one reloads twice, both converge", async () => {
  const doc = "offline-edits";
  const [ctxA, ctxB] = [await browser.newContext(), await browser.newContext()];
  const a = await openApp(ctxA, 1, doc);
  const b = await openApp(ctxB, 2, doc);
  await addItem(a, "bread");
  await b.waitForSelector('#items li[data-item="bread"]', { timeout: 20000 });

  for (const p of [a, b]) {
    await p.uncheck("#online");
    await waitStatus(p, "offline");
  }
  // Conflicting edits: A removes bread while B adds it again (add wins), both like,
  // both set the title (the later one wins).
  await a.click('#items li[data-item="bread"] button.remove');
  await a.waitForSelector('#items li[data-item="bread"]', { state: "detached" });
  await a.click("#like");
  await a.click("#like");
  await a.fill("#title-input", "Title from A");
  await a.click("#title-set");
  await stored(a);
  await b.evaluate(() => window.crdtDoc.insert("items", "bread"));
  for (let i = 0; i < 3; i++) await b.click("#like");
  await sleep(20);
  await b.fill("#title-input", "Title from B");
  await b.click("#title-set");
  await stored(b);
  const beforeReload = await shown(a);
  assert.deepEqual(beforeReload, { title: "Title from A", likes: 2, items: [] });

  // Reloaded while offline: same state, still offline, writable at once (a new
  // incarnation), and one IndexedDB record however often it reloads.
  await a.reload();
  await a.waitForFunction(() => window.crdtDoc !== undefined);
  assert.deepEqual(await shown(a), beforeReload);
  assert.equal(await a.evaluate(() => window.crdtDoc.status), "offline");
  assert.equal(await a.isChecked("#online"), false);
  await a.click("#like"); // written in the second life
  await stored(a);
  await a.reload();
  await a.waitForFunction(() => window.crdtDoc !== undefined);
  assert.deepEqual(await shown(a), { ...beforeReload, likes: 3 });
  const records = await a.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open("crdt-wasm");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const count = req.result.transaction("docs").objectStore("docs").count();
          count.onsuccess = () => resolve(count.result);
        };
      }),
  );
  assert.equal(records, 1, "one stored record per document");

  for (const p of [a, b]) await p.check("#online");
  const expected = { title: "Title from B", likes: 6, items: ["bread"] };
  for (const p of [a, b]) {
    await eventually("the pages converge", async () => JSON.stringify(await shown(p)) === JSON.stringify(expected));
    await waitStatus(p, "synced");
  }
  for (const id of [1, 2]) {
    await eventually(`leader ${id} has the merged state`, async () => {
      const [items, likes, title] = await Promise.all(
        ["items", "likes", "title"].map((k) => cluster.read(id, doc, k)),
      );
      return JSON.stringify({ title, likes, items }) === JSON.stringify(expected);
    });
  }
  assert.equal(await cluster.metric(1, "crdt_leader_ws_forged_writes_total"), 0);
  await shot(a, "a-page-on-leader-1-converged");
  await shot(b, "a-page-on-leader-2-converged");
  await ctxA.close();
  await ctxB.close();
});

test("(b) two tabs of one origin sync through BroadcastChannel while their server is down", async () => {
  const doc = "tabs";
  const ctx = await browser.newContext();
  const one = await openApp(ctx, 1, doc);
  const two = await openApp(ctx, 1, doc);
  assert.deepEqual(
    await Promise.all([one, two].map((p) => p.evaluate(() => window.crdtDoc.role))),
    ["primary", "secondary"],
  );
  await cluster.kill(1);
  for (const p of [one, two]) {
    await p.waitForFunction(() => window.crdtDoc.status !== "synced", null, { timeout: 20000 });
  }
  await addItem(two, "tea");
  await one.waitForSelector('#items li[data-item="tea"]', { timeout: 10000 });
  await addItem(one, "jam");
  await two.waitForSelector('#items li[data-item="jam"]', { timeout: 10000 });
  await two.click("#like");
  await one.waitForFunction(() => document.getElementById("likes").textContent === "1");
  await shot(two, "b-second-tab-while-server-down");

  await cluster.restart(1);
  await waitStatus(one, "synced");
  await waitStatus(two, "synced");
  await eventually("leader 2 has both tabs' writes", async () => {
    const items = (await cluster.read(2, doc, "items")) ?? [];
    return items.includes("tea") && items.includes("jam") && (await cluster.read(2, doc, "likes")) === 1;
  });
  // The tab that synced closes: the other takes over the document and its socket.
  await one.close();
  await two.waitForFunction(() => window.crdtDoc.role === "primary", null, { timeout: 20000 });
  await addItem(two, "honey");
  await eventually("the new primary delivers", async () =>
    ((await cluster.read(2, doc, "items")) ?? []).includes("honey"),
  );
  await waitStatus(two, "synced");
  await shot(two, "b-tabs-converged");
  await ctx.close();
});

test("(c) a page that sends a forged write is disconnected and the server is unchanged", async () => {
  const doc = "forgery";
  await cluster.write(1, doc, "items", { type: "orset", op: "insert", value: "honest" });
  const forgedBefore = await cluster.metric(1, "crdt_leader_ws_forged_writes_total");
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${cluster.url(1)}/app/?doc=${doc}`);
  // The page's own Doc (replica 5001) holds a write of replica 5002, received from
  // it, that the server never saw: delivering it is a forged write.
  const code = await page.evaluate(
    async ({ doc, token }) => {
      const wasm = await import("/app/pkg/crdt_wasm.js");
      await wasm.default();
      const victim = new wasm.Doc(5002);
      const forger = new wasm.Doc(5001);
      victim.addPeer(5001);
      forger.addPeer(5002);
      victim.insert("items", "forged");
      for (let m = victim.pollTransmit(); m; m = victim.pollTransmit()) forger.receive(5002, m.bytes);
      forger.removePeer(5002);
      const ws = new WebSocket(`ws://${location.host}/v1/docs/${doc}/sync`);
      ws.binaryType = "arraybuffer";
      return new Promise((resolve) => {
        let server;
        const pump = () => {
          for (let m = forger.pollTransmit(); m; m = forger.pollTransmit()) if (m.to === server) ws.send(m.bytes);
        };
        ws.onopen = () => ws.send(JSON.stringify({ token, replica: 5001 }));
        ws.onmessage = (ev) => {
          if (typeof ev.data === "string") {
            server = JSON.parse(ev.data).replica;
            forger.addPeer(server);
          } else {
            forger.receive(server, new Uint8Array(ev.data));
          }
          pump();
        };
        const tick = setInterval(() => (forger.tick(), pump()), 50);
        ws.onclose = (ev) => {
          clearInterval(tick);
          document.getElementById("error").textContent = `disconnected: ${ev.code} ${ev.reason}`;
          resolve(ev.code);
        };
      });
    },
    { doc, token: WRITE_TOKEN },
  );
  assert.equal(code, 4430);
  assert.equal(await cluster.metric(1, "crdt_leader_ws_forged_writes_total"), forgedBefore + 1);
  await sleep(300);
  for (const id of [1, 2]) {
    await eventually(`leader ${id} has the honest write only`, async () =>
      JSON.stringify(await cluster.read(id, doc, "items")) === JSON.stringify(["honest"]),
    );
  }
  await shot(page, "c-forged-write-disconnected");
  await ctx.close();
});

test("(d) a wrong token shows the error and stops reconnecting", async () => {
  const before = await cluster.metric(1, "crdt_leader_ws_auth_failures_total");
  const ctx = await browser.newContext();
  const page = await openApp(ctx, 1, "denied", { token: "not-a-token-of-this-cluster", status: null });
  await page.waitForFunction(() => window.crdtDoc?.error?.code === 4401, null, { timeout: 20000 });
  await page.waitForSelector("#error:has-text('4401')");
  assert.equal(await page.evaluate(() => window.crdtDoc.status), "offline");
  // Backoff would retry within 0.25-0.75 s; a final refusal never does.
  await sleep(3000);
  assert.equal(await cluster.metric(1, "crdt_leader_ws_auth_failures_total"), before + 1);
  assert.equal(await page.evaluate(() => window.crdtDoc.status), "offline");
  await shot(page, "d-wrong-token");
  await ctx.close();
});

test("(e) a read token syncs down and refuses local writes without a round trip", async () => {
  const doc = "read-only";
  await cluster.write(1, doc, "items", { type: "orset", op: "insert", value: "from-server" });
  const readOnlyBefore = await cluster.metric(1, "crdt_leader_ws_rejected_frames_total", 'reason="read_only"');
  const ctx = await browser.newContext();
  const page = await openApp(ctx, 1, doc, { token: READ_TOKEN });
  await page.waitForSelector('#items li[data-item="from-server"]');
  const refused = await page.evaluate(() =>
    window.crdtDoc.insert("items", "mine").then(
      () => "stored",
      (e) => e.message,
    ),
  );
  assert.match(refused, /read-only token/);
  assert.deepEqual((await shown(page)).items, ["from-server"]);
  // Later writes at the leader still arrive, and nothing was sent that the server refused.
  await cluster.write(2, doc, "items", { type: "orset", op: "insert", value: "later" });
  await page.waitForSelector('#items li[data-item="later"]', { timeout: 20000 });
  await waitStatus(page, "synced");
  assert.equal(
    await cluster.metric(1, "crdt_leader_ws_rejected_frames_total", 'reason="read_only"'),
    readOnlyBefore,
  );
  await shot(page, "e-read-token");
  await ctx.close();
});
