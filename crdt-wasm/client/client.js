// openDoc: an offline-first replica of one crdt-leader document in a browser tab
// (docs/WASM.md, "openDoc"; the wire contract: docs/WEBSOCKET.md).
//
// One replica per browser profile and document, not one per tab: the tab holding the
// Web Lock "crdt-wasm:<url>|<doc>" is the *primary*. It owns the crdt-sync `Doc`, its
// IndexedDB record and the WebSocket to crdt-leader. Every other tab of the origin is
// a *secondary*: it reads from a view `Doc` that the primary keeps in sync over a
// BroadcastChannel, and its writes are applied by the primary (answered once stored).
// When the primary closes or crashes, the browser hands the lock to a secondary,
// which restores the document from IndexedDB as a new incarnation and resends the
// writes not yet answered (each has an id; the primary records the ids it stored).
//
// So a tab never delivers another replica's writes to the server (the server closes a
// connection that does: 4430), one profile adds one writer per life to version
// vectors however many tabs it opens, and IndexedDB holds exactly one record per
// document, overwritten on every save: storage does not grow with reloads.
import init, { Doc } from "./crdt_wasm.js";

/** Close codes after which reconnecting cannot help (docs/WEBSOCKET.md, §5). */
const FINAL_CODES = new Set([4400, 4401, 4403, 4422, 4430, 4431]);
const PROTOCOL = 1;
/** Earlier lives a hello may list (the server allows 16 incarnations per connection). */
const LIVES_MAX = 15;
/** Ids of secondaries' writes the primary remembers (to answer a resent write once). */
const APPLIED_MAX = 1024;
const RECORD_VERSION = 1;
const STORE = "docs";

let ready;
function initOnce() {
  ready ??= init();
  return ready;
}

/** A random replica id in 1 ..= 2^53 - 1 (exact as a JS number), from the CSPRNG. */
function randomReplica() {
  const words = new Uint32Array(2);
  for (;;) {
    crypto.getRandomValues(words);
    const id = (words[0] & 0x1fffff) * 2 ** 32 + words[1];
    if (id > 0) return id;
  }
}

/** 64 random bits for `Doc.restore`'s incarnation nonce. */
function randomNonce() {
  return crypto.getRandomValues(new BigUint64Array(1))[0];
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDatabase(name) {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

/** Reads one record. */
async function load(db, key) {
  return request(db.transaction(STORE, "readonly").objectStore(STORE).get(key));
}

/** Writes one record; resolves once the transaction is committed ("strict": on disk). */
function store(db, key, value) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
    tx.objectStore(STORE).put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}

function check(cond, message) {
  if (!cond) throw new TypeError(`openDoc: ${message}`);
}

/** The mutators: the name a handle exposes, and how the primary applies it to a `Doc`. */
const MUTATORS = {
  increment: (d, key, n) => d.increment(key, n),
  decrement: (d, key, n) => d.decrement(key, n),
  incrementGCounter: (d, key, n) => d.incrementGCounter(key, n),
  insert: (d, key, value) => d.insert(key, value),
  remove: (d, key, value) => d.remove(key, value),
  setLww: (d, key, value, nowMs) => d.setLww(key, value, nowMs),
  setMv: (d, key, value) => d.setMv(key, value),
  set: (d, key, value, nowMs) =>
    d.typeOf(key) === "mvreg" ? d.setMv(key, value) : d.setLww(key, value, nowMs),
  delete: (d, key) => d.delete(key),
};

/**
 * Opens document `doc` of the crdt-leader at `url`, restoring it from IndexedDB.
 * Resolves once the document is readable and writable (see `DocHandle`).
 */
export async function openDoc(options) {
  check(options && typeof options === "object", "pass { url, doc, token }");
  const { url, doc, token } = options;
  check(typeof url === "string" && /^(https?|wss?):\/\//.test(url), "url must be http(s):// or ws(s)://");
  check(typeof doc === "string" && /^[A-Za-z0-9\-_.:~]{1,128}$/.test(doc), "doc must be 1-128 characters of [A-Za-z0-9-_.:~]");
  check(typeof token === "string" && token.length > 0, "token must be a non-empty string");
  check(typeof indexedDB !== "undefined", "IndexedDB is not available here");
  check(typeof navigator !== "undefined" && navigator.locks, "the Web Locks API is missing (it needs a secure context: https or localhost)");
  await initOnce();
  const handle = new DocHandle(options);
  try {
    await handle._start();
  } catch (e) {
    handle.close();
    throw e;
  }
  return handle;
}

/**
 * A document opened by `openDoc`. Reads are synchronous; each mutator applies at once
 * (in the primary tab; a secondary's write shows when the primary's change arrives)
 * and returns a Promise that resolves once the write is stored in IndexedDB. Events:
 * `change` (the document changed), `status` (`status` changed), `error` (a final
 * refusal: see `error`).
 */
export class DocHandle extends EventTarget {
  constructor({ url, doc, token, online = true, tickMs = 200, database = "crdt-wasm", backoffMs = [500, 30000] }) {
    super();
    const base = url.replace(/^http/, "ws").replace(/\/+$/, "");
    this.url = url;
    this.docName = doc;
    this._wsUrl = `${base}/v1/docs/${doc}/sync`;
    this._token = token;
    this._online = online !== false;
    this._tickMs = tickMs;
    this._databaseName = database;
    this._backoff = backoffMs;
    this._key = `${url}|${doc}`;
    this._tab = randomReplica().toString(36);
    /** `"primary"` or `"secondary"`. */
    this.role = "secondary";
    /** `"offline" | "connecting" | "syncing" | "synced"`. */
    this.status = "offline";
    /** A final refusal `{ code, reason }` (the handle stopped reconnecting), or null. */
    this.error = null;
    /** Whether the browser granted persistent storage (`navigator.storage.persist()`). */
    this.persistentStorage = false;
    this._doc = null; // the primary's Doc, or the secondary's view
    this._closed = false;
    this._held = new Promise((resolve) => (this._release = resolve));
    this._abort = new AbortController();
    this._timers = [];
    this._siblings = new Map(); // secondary view id -> last heard (ms)
    this._pending = new Map(); // secondary: op id -> { op, resolve, reject }
    this._ops = 0;
  }

  // ---- reads -------------------------------------------------------------------

  /** The value under `key` (shapes as `Doc.get`), or `undefined`. */
  get(key) {
    return this._doc.get(key);
  }
  /** The type under `key` (`"gcounter"`, `"pncounter"`, `"orset"`, `"lww"`, `"mvreg"`, `"conflict"`) or `undefined`. */
  typeOf(key) {
    return this._doc.typeOf(key);
  }
  /** The keys starting with `prefix`, ascending. */
  keys(prefix = "") {
    return this._doc.keys(prefix);
  }
  /** This document's replica id (the same in every tab of this browser profile). */
  get replicaId() {
    return this.role === "primary" ? this._doc.replicaId : this._primaryReplica;
  }
  /** crdt-sync's counters of the primary's `Doc` (a secondary: of its view). */
  metrics() {
    return this._doc.metrics();
  }

  // ---- writes ------------------------------------------------------------------

  /** Adds `n` (default 1) to the PN-Counter under `key`. */
  increment(key, n = 1) {
    return this._write("increment", [key, n]);
  }
  /** Subtracts `n` (default 1) from the PN-Counter under `key`. */
  decrement(key, n = 1) {
    return this._write("decrement", [key, n]);
  }
  /** Adds `n` (default 1) to the grow-only counter under `key`. */
  incrementGCounter(key, n = 1) {
    return this._write("incrementGCounter", [key, n]);
  }
  /** Adds `value` to the OR-Set under `key`. */
  insert(key, value) {
    return this._write("insert", [key, value]);
  }
  /** Removes `value` from the OR-Set under `key` (a concurrent insert wins). */
  remove(key, value) {
    return this._write("remove", [key, value]);
  }
  /** Writes the register under `key`: the multi-value register if `key` holds one, else the LWW-Register. */
  set(key, value) {
    return this._write("set", [key, value, Date.now()]);
  }
  /** Writes the LWW-Register under `key`. */
  setLww(key, value) {
    return this._write("setLww", [key, value, Date.now()]);
  }
  /** Writes the multi-value register under `key`. */
  setMv(key, value) {
    return this._write("setMv", [key, value]);
  }
  /** Removes `key` as observed here. */
  delete(key) {
    return this._write("delete", [key]);
  }

  // ---- connection --------------------------------------------------------------

  /** Whether the handle connects to the server (`false`: offline by choice). */
  get online() {
    return this._online;
  }
  set online(value) {
    this._online = Boolean(value);
    if (this.role !== "primary") {
      this._post({ t: "online", value: this._online });
      return;
    }
    this._applyOnline();
  }

  /** Closes the handle: the socket, the channel and the lock (another tab takes over). */
  close() {
    if (this._closed) return;
    this._closed = true;
    for (const t of this._timers) clearInterval(t);
    clearTimeout(this._retry);
    this._post({ t: "bye", from: this._viewId ?? this._doc?.replicaId });
    if (this._ws) this._ws.close(1000, "closed by the application");
    this._ws = null;
    this._abort.abort();
    this._release();
    this._channel?.close();
    this._db?.close();
    for (const p of this._pending.values()) p.reject(new Error("the document was closed before the write was stored"));
    this._pending.clear();
    this._setStatus("offline");
  }

  // ---- start and roles ---------------------------------------------------------

  async _start() {
    if (navigator.storage?.persist) {
      this.persistentStorage = await navigator.storage.persist().catch(() => false);
    }
    this._db = await openDatabase(this._databaseName);
    this._channel = new BroadcastChannel(`crdt-wasm:${this._key}`);
    this._channel.onmessage = (ev) => this._onChannel(ev.data);
    const lockName = `crdt-wasm:${this._key}`;
    const primary = await new Promise((resolve, reject) => {
      navigator.locks
        .request(lockName, { ifAvailable: true }, (lock) => {
          resolve(lock !== null);
          return lock === null ? undefined : this._held;
        })
        .catch(reject);
    });
    if (primary) {
      await this._becomePrimary();
    } else {
      const promoted = navigator.locks.request(lockName, { signal: this._abort.signal }, async () => {
        if (this._closed) return;
        await this._becomePrimary();
        return this._held;
      });
      promoted.catch((e) => {
        if (!this._closed) this._fail(e);
      });
      await this._becomeSecondary();
    }
  }

  async _becomePrimary() {
    const record = await load(this._db, this._key);
    let doc;
    if (record && record.version === RECORD_VERSION) {
      // A new incarnation: never a dot of an earlier life. Its peers are dropped (the
      // server is added again on connect, tabs on their hello), so it takes the
      // incarnation at once, online or not; the earlier lives whose writes may not
      // have reached the server are listed in the hello instead of probed for.
      doc = Doc.restore(record.snapshot, randomNonce());
      for (const peer of doc.peers()) doc.removePeer(peer);
      this._lives = record.lives.slice();
      this._applied = record.applied.slice();
    } else {
      doc = new Doc(randomReplica(), randomNonce());
      this._lives = [];
      this._applied = [];
    }
    clearInterval(this._hello);
    clearInterval(this._viewTick);
    this._doc?.free();
    this._doc = doc;
    this.role = "primary";
    this._server = null;
    this._siblings.clear();
    this._writeGen = 0;
    this._savedGen = 0;
    this._waiters = [];
    await this._save(); // the new incarnation, durable before any write
    this._timers.push(setInterval(() => this._tick(), this._tickMs));
    this._timers.push(setInterval(() => this._announce(), 1000));
    this._announce();
    // Writes a secondary sent and did not see answered: the old primary may have
    // stored them (then `applied` has their id) or not.
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const p of pending) this._applyOp(p.op).then(p.resolve, p.reject);
    this._applyOnline();
    this._emit("change");
  }

  async _becomeSecondary() {
    this.role = "secondary";
    this._setStatus("offline");
    this._doc = new Doc(randomReplica(), randomNonce()); // empty until the primary is heard
    this._viewId = this._doc.replicaId;
    this._hello = setInterval(() => this._post({ t: "hello", from: this._viewId }), 1000);
    this._viewTick = setInterval(() => this._tickView(), this._tickMs);
    this._timers.push(this._hello, this._viewTick);
    this._post({ t: "hello", from: this._viewId });
    // Ready once the primary answered (its first sync), or after 3 s without one.
    await new Promise((resolve) => {
      this._onFirstSync = resolve;
      setTimeout(resolve, 3000);
    });
  }

  /** A fresh view `Doc` (a new primary is a new incarnation: start clean). */
  _newView(primaryTab) {
    this._primaryTab = primaryTab;
    this._doc?.free();
    this._doc = new Doc(randomReplica(), randomNonce());
    this._viewId = this._doc.replicaId;
    if (this._primaryReplica) this._doc.addPeer(this._primaryReplica);
    this._post({ t: "hello", from: this._viewId });
  }

  // ---- writes ------------------------------------------------------------------

  _write(name, args) {
    if (this._closed) return Promise.reject(new Error("the document is closed"));
    const op = { id: `${this._tab}:${++this._ops}`, name, args };
    if (this.role === "primary") return this._applyOp(op);
    return new Promise((resolve, reject) => {
      this._pending.set(op.id, { op, resolve, reject });
      this._post({ t: "op", from: this._tab, op });
    });
  }

  /** The primary applies a write (its own or a secondary's); resolves once stored. */
  _applyOp(op) {
    try {
      if (this._applied.includes(op.id)) return this._saved();
      if (this._access === "read") throw new Error("this document was opened with a read-only token: it cannot be written");
      if (this.error) throw new Error(`the server refused this document (${this.error.code}): ${this.error.reason}`);
      const life = this._doc.incarnation;
      const newLife = !this._lives.includes(life);
      if (newLife && life !== "0" && this._lives.filter((l) => l !== "0").length >= LIVES_MAX) {
        throw new Error(`writes of ${LIVES_MAX} offline sessions are not yet delivered: go online before writing more`);
      }
      const apply = MUTATORS[op.name];
      if (!apply) throw new Error(`unknown write ${op.name}`);
      apply(this._doc, ...op.args); // throws on invalid input; the Doc is unchanged then
      if (newLife) this._lives.push(life);
      if (op.id.split(":")[0] !== this._tab) {
        this._applied.push(op.id);
        if (this._applied.length > APPLIED_MAX) this._applied.splice(0, this._applied.length - APPLIED_MAX);
      }
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    this._writeGen += 1;
    this._emit("change");
    this._setStatus(this._computeStatus());
    return this._saved();
  }

  /** Resolves once everything written so far is stored. */
  _saved() {
    return new Promise((resolve, reject) => {
      this._waiters.push({ resolve, reject });
      this._kickSave();
    });
  }

  async _kickSave() {
    if (this._saving) return;
    this._saving = true;
    try {
      while (this._waiters.length > 0 || this._saveWanted) {
        const waiters = this._waiters;
        this._waiters = [];
        this._saveWanted = false;
        try {
          await this._save();
          for (const w of waiters) w.resolve();
        } catch (e) {
          for (const w of waiters) w.reject(e);
          this._fail(e);
        }
      }
    } finally {
      this._saving = false;
    }
    this._pump();
  }

  /** Stores the document (one record, overwritten: storage does not grow). */
  async _save() {
    if (this._closed) throw new Error("the document is closed");
    const gen = this._writeGen;
    const waiting = this._doc.writeStatus === "needsSnapshot";
    const snapshot = this._doc.snapshot();
    await store(this._db, this._key, {
      version: RECORD_VERSION,
      replica: this._doc.replicaId,
      snapshot,
      lives: this._lives.slice(),
      applied: this._applied.slice(),
    });
    if (waiting) this._doc.persisted(snapshot);
    this._savedGen = Math.max(this._savedGen, gen);
  }

  // ---- sync --------------------------------------------------------------------

  /** Sends what the primary's Doc has for its peers; never a write not yet stored. */
  _pump() {
    if (this.role !== "primary" || this._closed) return;
    if (this._savedGen === this._writeGen) {
      for (let m = this._doc.pollTransmit(); m; m = this._doc.pollTransmit()) {
        if (m.to === this._server) {
          if (this._ws && this._ready) this._ws.send(m.bytes);
        } else if (this._siblings.has(m.to)) {
          this._post({ t: "sync", from: this._doc.replicaId, to: m.to, bytes: m.bytes });
        }
        // Anything else (the server while disconnected): dropped, crdt-sync resends.
      }
    }
    this._setStatus(this._computeStatus());
  }

  _tick() {
    if (this._closed) return;
    const now = Date.now();
    for (const [id, seen] of this._siblings) {
      if (now - seen > 5000) this._dropSibling(id);
    }
    this._doc.tick();
    this._pump();
  }

  /** A secondary's view: acknowledgements and digests for the primary. */
  _tickView() {
    if (this._closed || this.role !== "secondary") return;
    this._doc.tick();
    this._sendView();
  }

  _sendView() {
    for (let out = this._doc.pollTransmit(); out; out = this._doc.pollTransmit()) {
      this._post({ t: "sync", from: this._viewId, to: out.to, bytes: out.bytes });
    }
  }

  _dropSibling(id) {
    this._siblings.delete(id);
    this._doc.removePeer(id);
  }

  _received(changed) {
    if (!changed) return;
    this._emit("change");
    this._saveWanted = true; // stored lazily: a reload shows what was received
    clearTimeout(this._lazySave);
    this._lazySave = setTimeout(() => this._kickSave(), 250);
  }

  _computeStatus() {
    if (!this._ws || this.error) return "offline";
    if (!this._ready) return "connecting";
    const lag = this._doc.metrics().peerLag.find((p) => p.peer === this._server);
    const synced = this._heard && this._savedGen === this._writeGen && (lag === undefined || Number(lag.lag) === 0);
    if (synced && this._lives.length > 0) {
      this._lives = []; // every earlier life's writes reached the server
      this._saveWanted = true;
    }
    return synced ? "synced" : "syncing";
  }

  _applyOnline() {
    if (this.role !== "primary" || this._closed) return;
    if (this._online) {
      this._connect();
    } else {
      clearTimeout(this._retry);
      if (this._ws) this._ws.close(1000, "offline by the application");
      this._ws = null;
      this._ready = false;
      this._setStatus("offline");
    }
  }

  _connect() {
    if (this._ws || this.error || !this._online || this._closed) return;
    const ws = new WebSocket(this._wsUrl);
    ws.binaryType = "arraybuffer";
    this._ws = ws;
    this._ready = false;
    this._heard = false;
    this._setStatus("connecting");
    ws.onopen = () => {
      const incarnations = this._lives.filter((l) => l !== "0" && l !== this._doc.incarnation);
      ws.send(JSON.stringify({ token: this._token, replica: this._doc.replicaId, incarnations }));
    };
    ws.onmessage = (ev) => {
      if (ws !== this._ws) return;
      if (typeof ev.data === "string") return this._onAnswer(ws, ev.data);
      let changed = false;
      try {
        changed = this._doc.receive(this._server, new Uint8Array(ev.data));
      } catch (e) {
        console.warn("openDoc: a frame from the server was refused:", e.message);
      }
      this._heard = true;
      this._received(changed);
      this._pump();
    };
    ws.onclose = (ev) => {
      if (ws !== this._ws) return;
      this._ws = null;
      this._ready = false;
      if (FINAL_CODES.has(ev.code)) {
        this.error = { code: ev.code, reason: ev.reason || "refused by the server" };
        this._setStatus("offline");
        this._emit("error");
        this._announce();
        return;
      }
      this._setStatus("offline");
      if (this._online && !this._closed) {
        const [first, max] = this._backoff;
        const delay = Math.min(max, first * 2 ** Math.min(this._attempt ?? 0, 16)) * (0.5 + Math.random());
        this._attempt = (this._attempt ?? 0) + 1;
        this._retry = setTimeout(() => this._connect(), delay);
      }
    };
  }

  _onAnswer(ws, text) {
    let answer;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = {};
    }
    if (answer.protocol !== PROTOCOL || !Number.isSafeInteger(answer.replica)) {
      this.error = { code: 0, reason: `the server speaks protocol ${answer.protocol}, this client ${PROTOCOL}` };
      ws.close(1000);
      this._emit("error");
      return;
    }
    if (this._server !== null && this._server !== answer.replica) this._doc.removePeer(this._server);
    this._server = answer.replica;
    this._doc.addPeer(answer.replica);
    this._access = answer.access;
    this._ready = true;
    this._attempt = 0;
    this._pump();
  }

  // ---- tabs --------------------------------------------------------------------

  _post(message) {
    try {
      this._channel?.postMessage(message);
    } catch {
      // closed channel: nothing to tell
    }
  }

  _announce() {
    if (this.role !== "primary" || this._closed) return;
    this._post({
      t: "primary",
      tab: this._tab,
      replica: this._doc.replicaId,
      status: this.status,
      error: this.error,
      online: this._online,
    });
  }

  _onChannel(m) {
    if (this._closed || !m || typeof m !== "object") return;
    if (this.role === "primary") {
      if (m.t === "hello" && Number.isSafeInteger(m.from)) {
        if (!this._siblings.has(m.from)) {
          try {
            this._doc.addPeer(m.from);
          } catch {
            return; // too many peers
          }
          this._announce();
        }
        this._siblings.set(m.from, Date.now());
        this._pump();
      } else if (m.t === "bye" && this._siblings.has(m.from)) {
        this._dropSibling(m.from);
      } else if (m.t === "sync" && m.to === this._doc.replicaId && this._siblings.has(m.from)) {
        this._siblings.set(m.from, Date.now());
        try {
          this._doc.receive(m.from, m.bytes);
        } catch {
          // a view never writes; a bad message is dropped
        }
        this._pump();
      } else if (m.t === "op" && m.op) {
        this._applyOp(m.op).then(
          () => this._post({ t: "done", to: m.from, id: m.op.id }),
          (e) => this._post({ t: "done", to: m.from, id: m.op.id, error: String(e.message ?? e) }),
        );
      } else if (m.t === "online") {
        this.online = m.value;
      }
      return;
    }
    // Secondary.
    if (m.t === "primary") {
      if (m.tab !== this._primaryTab) {
        this._primaryReplica = m.replica;
        this._newView(m.tab);
        for (const p of this._pending.values()) this._post({ t: "op", from: this._tab, op: p.op });
      }
      this._online = m.online;
      if (JSON.stringify(this.error) !== JSON.stringify(m.error)) {
        this.error = m.error;
        if (m.error) this._emit("error");
      }
      this._setStatus(m.status);
    } else if (m.t === "sync" && m.to === this._viewId) {
      let changed = false;
      try {
        changed = this._doc.receive(m.from, m.bytes);
      } catch {
        // dropped; the primary resends
      }
      if (changed) this._emit("change");
      this._sendView();
      this._onFirstSync?.();
      this._onFirstSync = null;
    } else if (m.t === "done" && m.to === this._tab) {
      const p = this._pending.get(m.id);
      if (!p) return;
      this._pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve();
    }
  }

  // ---- events ------------------------------------------------------------------

  _setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this._emit("status");
    this._announce();
  }

  _emit(type) {
    this.dispatchEvent(new Event(type));
  }

  _fail(e) {
    console.error("openDoc:", e);
    this.error ??= { code: 0, reason: String(e?.message ?? e) };
    this._emit("error");
  }
}
