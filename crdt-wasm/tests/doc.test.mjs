// Doc: a crdt-sync leader of a keyspace, driven from JavaScript.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { wasm, MAX_SAFE, BAD_IDS, BAD_INTEGERS, NOT_BYTES, refuses, rng, shuffled } from "./support.mjs";

const { Doc } = wasm;
const hex = (b) => Buffer.from(b).toString("hex");

/** Everything observable about a Doc except the counters of what it received. */
function docState(d) {
  const m = d.metrics();
  const values = d.keys().map((k) => [k, d.typeOf(k), d.get(k)]);
  return JSON.stringify({
    snapshot: hex(d.snapshot()),
    token: hex(d.causalToken()),
    values: values.map(([k, t, v]) => [k, t, typeof v === "bigint" ? `${v}n` : v]),
    peers: d.peers(),
    status: d.writeStatus,
    buffered: [m.deltasBuffered, m.bufferedBytes],
  });
}

/** refuses() for a Doc. */
const docRefuses = (d, fn, re) => refuses(d, fn, re, docState);

/** Delivers every message among `docs` (by id) until none is left. */
function settle(docs) {
  const byId = new Map(docs.map((d) => [d.replicaId, d]));
  for (let round = 0; round < 100; round++) {
    let sent = 0;
    for (const d of docs) {
      for (let t = d.pollTransmit(); t !== undefined; t = d.pollTransmit()) {
        byId.get(t.to).receive(d.replicaId, t.bytes);
        sent++;
      }
    }
    if (sent === 0) return;
  }
  assert.fail("messages kept flowing");
}

/** Two Docs that are each other's peer. */
function pair(a = 1, b = 2) {
  const x = new Doc(a);
  const y = new Doc(b);
  x.addPeer(b);
  y.addPeer(a);
  return [x, y];
}

/** The values of every key, as a comparable string. */
const contents = (d) =>
  JSON.stringify(
    d.keys().map((k) => [k, d.get(k)]),
    (_, v) => (typeof v === "bigint" ? `${v}n` : v),
  );

describe("Doc", () => {
  it("reads every type like the HTTP API, after syncing", () => {
    const [a, b] = pair();
    for (const r of [
      a.increment("likes", 5),
      b.decrement("likes", 2),
      a.increment("likes"),
      a.incrementGCounter("views", 7),
      a.insert("list", "milk"),
      b.insert("list", "eggs"),
      a.setLww("title", "Groceries", 1_700_000_000_000),
      a.setMv("note", "y"),
      b.setMv("note", "x"),
      a.insert("gone", "z"),
      a.delete("gone"),
    ]) {
      assert.ok(r instanceof Uint8Array && r.length > 0);
    }
    settle([a, b]);
    for (const d of [a, b]) {
      assert.equal(d.get("likes"), 4);
      assert.equal(d.get("views"), 7);
      assert.deepEqual(d.get("list"), ["eggs", "milk"]);
      assert.equal(d.get("title"), "Groceries");
      assert.deepEqual(d.get("note"), ["x", "y"]);
      assert.equal(d.get("gone"), undefined);
      assert.equal(d.get("never"), undefined);
      assert.deepEqual(d.keys(), ["likes", "list", "note", "title", "views"]);
      assert.deepEqual(d.keys("li"), ["likes", "list"]);
      assert.deepEqual(d.keys("zzz"), []);
      assert.deepEqual(
        ["likes", "views", "list", "title", "note", "gone"].map((k) => d.typeOf(k)),
        ["pncounter", "gcounter", "orset", "lww", "mvreg", undefined],
      );
    }
    assert.deepEqual(a.causalToken(), b.causalToken());
    assert.ok(a.covers(b.causalToken()) && b.covers(a.causalToken()));
    assert.equal(new Doc(3).covers(a.causalToken()), false);
    assert.ok(a.covers(new Doc(3).causalToken()));
    assert.equal(a.writeStatus, "writable");
    assert.deepEqual(a.peers(), [2]);
    assert.equal(a.replicaId, 1);
  });

  it("reports a type conflict as { conflict: [{ type, value }] }, and a write resolves it", () => {
    const [a, b] = pair();
    a.increment("k", 2);
    b.insert("k", "s");
    settle([a, b]);
    const want = {
      conflict: [
        { type: "pncounter", value: 2 },
        { type: "orset", value: ["s"] },
      ],
    };
    assert.deepEqual(a.get("k"), want);
    assert.deepEqual(b.get("k"), want);
    assert.equal(a.typeOf("k"), "conflict");
    a.insert("k", "t");
    settle([a, b]);
    assert.deepEqual(b.get("k"), ["s", "t"]);
  });

  it("returns counters beyond 2^53 - 1 as BigInts", () => {
    const d = new Doc(1);
    d.incrementGCounter("g", MAX_SAFE);
    assert.equal(d.get("g"), MAX_SAFE);
    d.incrementGCounter("g", 1);
    assert.equal(d.get("g"), 2n ** 53n);
    d.decrement("p", MAX_SAFE);
    assert.equal(d.get("p"), -MAX_SAFE);
    d.decrement("p", 2);
    assert.equal(d.get("p"), -(2n ** 53n) - 1n);
  });

  it("converges over a lossy, duplicating, reordering network with ticks", () => {
    const next = rng(13);
    const ids = [11, 22, 33];
    const docs = ids.map((id) => new Doc(id));
    for (const d of docs) for (const p of ids) if (p !== d.replicaId) d.addPeer(p);
    const byId = new Map(docs.map((d) => [d.replicaId, d]));
    let likes = 0;
    let wire = [];
    for (let step = 0; step < 400; step++) {
      const d = docs[Math.floor(next() * 3)];
      const r = next();
      const item = `item${Math.floor(next() * 12)}`;
      if (r < 0.3) {
        const n = Math.floor(next() * 10);
        d.increment("likes", n);
        likes += n;
      } else if (r < 0.5) {
        d.decrement("likes", 1);
        likes -= 1;
      } else if (r < 0.75) d.insert("list", item);
      else if (r < 0.9) d.remove("list", item);
      else d.setLww("title", `t${step}`, 1_000 + step);
      if (next() < 0.2) for (const x of docs) x.tick();
      for (const x of docs) {
        for (let t = x.pollTransmit(); t; t = x.pollTransmit()) wire.push([x.replicaId, t]);
      }
      // Deliver a random part of the wire: some lost, some twice, in any order.
      if (next() < 0.3) {
        for (const [from, t] of shuffled(wire, next)) {
          const roll = next();
          if (roll < 0.2) continue;
          byId.get(t.to).receive(from, t.bytes);
          if (roll > 0.9) byId.get(t.to).receive(from, t.bytes);
        }
        wire = [];
      }
    }
    // Then a reliable network: ticks bring back what was lost.
    for (let round = 0; round < 200; round++) {
      for (const x of docs) x.tick();
      settle(docs);
      const tokens = docs.map((x) => hex(x.causalToken()));
      if (tokens.every((t) => t === tokens[0]) && docs.every((x) => contents(x) === contents(docs[0]))) break;
    }
    for (const x of docs) {
      assert.equal(contents(x), contents(docs[0]));
      assert.deepEqual(x.causalToken(), docs[0].causalToken());
      assert.equal(x.get("likes"), likes);
      assert.equal(x.metrics().rejectedMessages, 0);
    }
  });

  it("restores as a new incarnation that writes once its snapshot is stored", () => {
    const [a, b] = pair();
    a.insert("list", "before");
    settle([a, b]);
    const saved = a.snapshot();
    a.persisted(saved); // a writable Doc has nothing to wait for
    const nonce = crypto.getRandomValues(new BigUint64Array(1))[0];
    const r = Doc.restore(saved, nonce);
    assert.equal(r.replicaId, 1);
    // A first life: counter 0 (the high 32 bits) with the nonce of its creation.
    assert.ok(BigInt(a.incarnation) > 0n && BigInt(a.incarnation) < 1n << 32n, a.incarnation);
    assert.equal(r.incarnation, a.incarnation, "the snapshot's, until the probe is answered");
    assert.deepEqual(r.peers(), [2]);
    assert.deepEqual(r.get("list"), ["before"]);
    assert.equal(r.writeStatus, "restoring");
    docRefuses(r, () => r.insert("list", "x"), /^Doc: this restored Doc is still asking its peers .*removePeer\(id\)/);
    settle([r, b]);
    assert.equal(r.writeStatus, "needsSnapshot");
    docRefuses(
      r,
      () => r.insert("list", "x"),
      /store doc.snapshot\(\) durably, pass those bytes to doc.persisted\(bytes\)/,
    );
    const first = r.snapshot();
    docRefuses(r, () => r.persisted(saved), /^Doc: these bytes are not the latest snapshot\(\)/);
    r.persisted(first);
    assert.equal(r.writeStatus, "writable");
    assert.equal(BigInt(r.incarnation) >> 32n, 1n, "the next counter, with a random nonce");
    r.insert("list", "after");
    settle([r, b]);
    assert.deepEqual(b.get("list"), ["after", "before"]);
    // A number nonce works too, and a Doc without peers needs no answers.
    const lone = new Doc(7);
    lone.setLww("t", "v", 1);
    const s = Doc.restore(lone.snapshot(), 12345);
    assert.equal(s.writeStatus, "needsSnapshot");
    s.persisted(s.snapshot());
    s.setLww("t", "w", 2);
    assert.equal(s.get("t"), "w");
  });

  it("refuses messages from strangers, for others, and corrupted ones, unchanged", () => {
    const [a, b] = pair();
    a.insert("s", "x");
    const t = a.pollTransmit();
    assert.equal(t.to, 2);
    const c = new Doc(3);
    c.addPeer(1);
    const stranger = new Doc(2);
    docRefuses(
      stranger,
      () => stranger.receive(1, t.bytes),
      /which is not a peer of this Doc: call addPeer\(1\) first/,
    );
    docRefuses(c, () => c.receive(1, t.bytes), /^Doc: message for leader 2 delivered to leader 3/);
    docRefuses(b, () => b.receive(3, t.bytes), /^Doc: message from 3, which is not a peer/);
    // Every truncation and bit flip is refused (a checksum guards every message).
    for (let n = 0; n < t.bytes.length; n++) docRefuses(b, () => b.receive(1, t.bytes.subarray(0, n)), /^Doc: /);
    for (let i = 0; i < t.bytes.length * 8; i++) {
      const bad = Uint8Array.from(t.bytes);
      bad[i >> 3] ^= 1 << (i & 7);
      docRefuses(b, () => b.receive(1, bad), /^Doc: /);
    }
    assert.equal(b.receive(1, t.bytes), true);
    assert.equal(b.receive(1, t.bytes), false); // a duplicate changes nothing
    assert.deepEqual(b.get("s"), ["x"]);
    assert.equal(b.metrics().rejectedMessages, 1 + t.bytes.length * 9);
  });
});

// Bad arguments for each kind of parameter, with (part of) the message each gets.
const keyType = (t) => new RegExp(`^key must be a string, not ${t}: pass a string of at most 4096 bytes of UTF-8$`);
const BAD_KEY_TYPES = [
  [undefined, keyType("undefined")],
  [null, keyType("null")],
  [5, keyType("number")],
  [{}, keyType("object")],
  [["k"], keyType("an Array")],
  ["\ud800", /^invalid key: the string contains a lone UTF-16 surrogate/],
];
const LONG_KEY = ["k".repeat(4097), /^key too large \(4097 > 4096\): use a shorter key/];
const BAD_KEYS = [...BAD_KEY_TYPES, LONG_KEY];
const strType = (arg, t) => new RegExp(`^${arg} must be a string, not ${t}`);
const badStrings = (arg) => [
  [undefined, strType(arg, "undefined")],
  [7, strType(arg, "number")],
  ["a\udc00", new RegExp(`^invalid ${arg}: the string contains a lone UTF-16 surrogate`)],
  ["x".repeat((1 << 20) + 1), new RegExp(`^${arg} too large \\(1048577 > 1048576\\)`)],
];
const BAD_PEERS = BAD_IDS.map(([v, re]) => [v, new RegExp(re.source.replace("replica id", "peer id"))]);
const BAD_AMOUNTS = BAD_INTEGERS.filter(([v]) => v !== undefined);
const BAD_BYTES = NOT_BYTES.map((v) => [v, /^bytes must be a Uint8Array, not /]);
const BAD_NONCES = [
  ["1", /^nonce must be a number or a BigInt, not string: pass 64 random bits as a BigInt/],
  [null, /^nonce must be a number or a BigInt, not null/],
  [-1, /^invalid nonce: -1 is not accepted because it is negative/],
  [0.5, /^invalid nonce: 0.5 .* not a whole number/],
  [-1n, /^invalid nonce: the BigInt is outside 0n..=2n\*\*64n-1n/],
  [2n ** 64n, /^invalid nonce: the BigInt is outside/],
];

/** A Doc with a value of every type and a peer, for the refusal tests. */
function filled() {
  const [d, peer] = pair();
  d.increment("n", 3);
  d.incrementGCounter("g", 4);
  d.insert("s", "a");
  d.setLww("l", "v", 5);
  d.setMv("m", "w");
  return [d, peer];
}

/**
 * For every export taking arguments: calls with one bad argument each (the others
 * valid), then one valid call showing the Doc still works.
 */
const REFUSALS = {
  addPeer: [
    BAD_PEERS.map(([v, re]) => [(d) => d.addPeer(v), re]).concat([
      [(d) => d.addPeer(1), /^Doc: a Doc cannot be its own peer/],
    ]),
    (d) => d.addPeer(9),
  ],
  removePeer: [BAD_PEERS.map(([v, re]) => [(d) => d.removePeer(v), re]), (d) => d.removePeer(9)],
  increment: [
    [
      ...BAD_KEYS.map(([k, re]) => [(d) => d.increment(k, 1), re]),
      ...BAD_AMOUNTS.map(([n, re]) => [(d) => d.increment("n", n), re]),
      [
        (d) => d.increment("s", 1),
        /^refused: key "s" holds a OrSet, not a PnCounter: write it with OrSet operations, or delete the key first$/,
      ],
    ],
    (d) => d.increment("n"),
  ],
  decrement: [
    [
      ...BAD_KEYS.map(([k, re]) => [(d) => d.decrement(k, 1), re]),
      ...BAD_AMOUNTS.map(([n, re]) => [(d) => d.decrement("n", n), re]),
      [(d) => d.decrement("g", 1), /holds a GCounter, not a PnCounter/],
    ],
    (d) => d.decrement("n", 2),
  ],
  incrementGCounter: [
    [
      ...BAD_KEYS.map(([k, re]) => [(d) => d.incrementGCounter(k, 1), re]),
      ...BAD_AMOUNTS.map(([n, re]) => [(d) => d.incrementGCounter("g", n), re]),
      [(d) => d.incrementGCounter("n", 1), /holds a PnCounter, not a GCounter/],
    ],
    (d) => d.incrementGCounter("g", 1),
  ],
  insert: [
    [
      ...BAD_KEYS.map(([k, re]) => [(d) => d.insert(k, "x"), re]),
      ...badStrings("element").map(([v, re]) => [(d) => d.insert("s", v), re]),
      [(d) => d.insert("l", "x"), /holds a LwwRegister, not a OrSet/],
    ],
    (d) => d.insert("s", "b"),
  ],
  remove: [
    [
      ...BAD_KEYS.map(([k, re]) => [(d) => d.remove(k, "a"), re]),
      ...badStrings("element")
        .slice(0, 3)
        .map(([v, re]) => [(d) => d.remove("s", v), re]),
      [(d) => d.remove("m", "w"), /holds a MvRegister, not a OrSet/],
    ],
    (d) => d.remove("s", "a"),
  ],
  setLww: [
    [
      ...BAD_KEYS.map(([k, re]) => [(d) => d.setLww(k, "x", 1), re]),
      ...badStrings("value").map(([v, re]) => [(d) => d.setLww("l", v, 1), re]),
      ...BAD_AMOUNTS.map(([t, re]) => [(d) => d.setLww("l", "x", t), re]),
      [(d) => d.setLww("l", "x"), /^timestamp nowMs must be a number, not undefined/],
      [(d) => d.setLww("m", "x", 1), /holds a MvRegister, not a LwwRegister/],
    ],
    (d) => d.setLww("l", "x", 6),
  ],
  setMv: [
    [
      ...BAD_KEYS.map(([k, re]) => [(d) => d.setMv(k, "x"), re]),
      ...badStrings("value").map(([v, re]) => [(d) => d.setMv("m", v), re]),
      [(d) => d.setMv("l", "x"), /holds a LwwRegister, not a MvRegister/],
    ],
    (d) => d.setMv("m", "x"),
  ],
  delete: [BAD_KEYS.map(([k, re]) => [(d) => d.delete(k), re]), (d) => d.delete("m")],
  get: [BAD_KEY_TYPES.map(([k, re]) => [(d) => d.get(k), re]), (d) => assert.equal(d.get(LONG_KEY[0]), undefined)],
  typeOf: [BAD_KEY_TYPES.map(([k, re]) => [(d) => d.typeOf(k), re]), (d) => assert.equal(d.typeOf("s"), "orset")],
  keys: [
    BAD_KEY_TYPES.filter(([k]) => k !== undefined).map(([k, re]) => [(d) => d.keys(k), re]),
    (d) => assert.deepEqual(d.keys("s"), ["s"]),
  ],
  receive: [
    [
      ...BAD_PEERS.map(([v, re]) => [(d) => d.receive(v, new Uint8Array(0)), re]),
      ...BAD_BYTES.map(([v, re]) => [(d) => d.receive(2, v), re]),
      [(d) => d.receive(2, new Uint8Array(64 * 1024 * 1024 + 1)), /^bytes too large \(67108865 > 67108864\)/],
      [(d) => d.receive(2, new Uint8Array(0)), /^Doc: checksum mismatch/],
      [(d) => d.receive(2, new TextEncoder().encode("hello world")), /^Doc: /],
    ],
    (d, peer) => {
      peer.insert("s", "from the peer");
      settle([d, peer]);
      assert.deepEqual(d.get("s"), ["a", "from the peer"]);
    },
  ],
  covers: [
    [
      ...BAD_BYTES.map(([v, re]) => [(d) => d.covers(v), re]),
      [(d) => d.covers(new Uint8Array([1, 2, 3])), /^causal token: cannot use these bytes: /],
      [(d) => d.covers(d.snapshot()), /^causal token: cannot use these bytes: /],
    ],
    (d) => assert.equal(d.covers(d.causalToken()), true),
  ],
  persisted: [BAD_BYTES.map(([v, re]) => [(d) => d.persisted(v), re]), (d) => d.persisted(d.snapshot())],
};

/** The same for the static Doc.restore, checking the module keeps working. */
function restoreRefusals(good) {
  const out = [
    ...BAD_BYTES.map(([v, re]) => [() => Doc.restore(v, 1n), re]),
    ...BAD_NONCES.map(([n, re]) => [() => Doc.restore(good, n), re]),
    [() => Doc.restore(new Uint8Array(0), 1n), /^Doc: checksum mismatch/],
    [() => Doc.restore(new wasm.GCounter(1).encode(), 1n), /^Doc: /],
  ];
  for (let n = 0; n < good.length; n++) out.push([() => Doc.restore(good.subarray(0, n), 1n), /^Doc: /]);
  for (let i = 0; i < good.length * 8; i += 3) {
    const bad = Uint8Array.from(good);
    bad[i >> 3] ^= 1 << (i & 7);
    out.push([() => Doc.restore(bad, 1n), /^Doc: /]);
  }
  return out;
}

/** Asserts `fn` throws a JS Error (not a wasm trap) whose message matches `re`. */
function throwsError(fn, re) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error && !(e instanceof WebAssembly.RuntimeError), `not a plain Error: ${e?.stack ?? e}`);
    if (re) assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), "one-line message");
    return true;
  });
}

describe("Doc: every export refuses bad input with an Error and keeps working", () => {
  const methods = Object.getOwnPropertyNames(Doc.prototype).filter((n) => n !== "constructor" && !n.startsWith("__"));
  const NO_ARGS = [
    "peers",
    "pollTransmit",
    "tick",
    "causalToken",
    "snapshot",
    "metrics",
    "writeStatus",
    "replicaId",
    "incarnation",
    "free",
  ];

  it("covers every method of the class", () => {
    const tested = new Set([...Object.keys(REFUSALS), ...NO_ARGS]);
    for (const m of methods) assert.ok(tested.has(m), `no refusal test for Doc.prototype.${m}`);
    const statics = Object.getOwnPropertyNames(Doc).filter((n) => typeof Doc[n] === "function" && !n.startsWith("__"));
    assert.deepEqual(statics, ["restore"]);
  });

  for (const [name, [bad, good]] of Object.entries(REFUSALS)) {
    it(name, () => {
      const [d, peer] = filled();
      for (const [call, re] of bad) docRefuses(d, () => call(d), re);
      good(d, peer);
      // And the module: a fresh pair still syncs.
      const [x, y] = pair(5, 6);
      x.insert("after", name);
      settle([x, y]);
      assert.deepEqual(y.get("after"), [name]);
    });
  }

  it("restore", () => {
    const [d] = filled();
    const good = d.snapshot();
    for (const [call, re] of restoreRefusals(good)) throwsError(call, re);
    const r = Doc.restore(good, 2n ** 64n - 1n);
    assert.equal(contents(r), contents(d));
  });

  it("the constructor", () => {
    for (const [id, re] of BAD_IDS) throwsError(() => new Doc(id), re);
    throwsError(() => new Doc(), /^replica id must be a number, not undefined/);
    assert.equal(new Doc(MAX_SAFE).replicaId, MAX_SAFE);
    // Every new Doc has a first incarnation of its own: from the nonce given, or one
    // drawn from crypto.getRandomValues, so an id created again writes under another
    // writer id than its earlier life.
    assert.notEqual(new Doc(9).incarnation, new Doc(9).incarnation);
    assert.equal(new Doc(9, 5n).incarnation, new Doc(9, 5).incarnation);
    assert.notEqual(new Doc(9, 5n).incarnation, new Doc(9, 6n).incarnation);
    for (const [nonce, re] of BAD_NONCES) throwsError(() => new Doc(9, nonce), re);
  });

  it("every method of a freed Doc throws an Error, and the module keeps working", () => {
    const calls = {
      addPeer: (d) => d.addPeer(3),
      removePeer: (d) => d.removePeer(3),
      peers: (d) => d.peers(),
      increment: (d) => d.increment("n"),
      decrement: (d) => d.decrement("n"),
      incrementGCounter: (d) => d.incrementGCounter("g"),
      insert: (d) => d.insert("s", "x"),
      remove: (d) => d.remove("s", "x"),
      setLww: (d) => d.setLww("l", "x", 1),
      setMv: (d) => d.setMv("m", "x"),
      delete: (d) => d.delete("s"),
      get: (d) => d.get("s"),
      typeOf: (d) => d.typeOf("s"),
      keys: (d) => d.keys(),
      receive: (d) => d.receive(2, new Uint8Array(0)),
      pollTransmit: (d) => d.pollTransmit(),
      tick: (d) => d.tick(),
      causalToken: (d) => d.causalToken(),
      covers: (d) => d.covers(new Uint8Array(0)),
      snapshot: (d) => d.snapshot(),
      persisted: (d) => d.persisted(new Uint8Array(0)),
      metrics: (d) => d.metrics(),
      writeStatus: (d) => d.writeStatus,
      replicaId: (d) => d.replicaId,
      incarnation: (d) => d.incarnation,
    };
    for (const m of methods) if (m !== "free") assert.ok(m in calls, `no call for ${m}`);
    for (const [name, call] of Object.entries(calls)) {
      const [d] = filled();
      d.free();
      throwsError(() => call(d), null);
      const [x, y] = pair(7, 8);
      x.increment(name);
      settle([x, y]);
      assert.equal(y.get(name), 1);
    }
  });
});
