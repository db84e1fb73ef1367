// Types of crdt-wasm/client: `openDoc`, an offline-first browser replica of one
// crdt-leader document (docs/WASM.md, "openDoc").
import type { DocMetrics } from "./crdt_wasm.js";

/** What `openDoc` needs. */
export interface OpenDocOptions {
  /** The crdt-leader's base URL: `http(s)://host:port` (or `ws(s)://`). */
  url: string;
  /** The document name: 1-128 characters of `[A-Za-z0-9-_.:~]`. */
  doc: string;
  /** A token of the leader's `--client-tokens` file with `read` or `write` on `doc`. */
  token: string;
  /** Connect at once (default `true`); `handle.online` toggles it later. */
  online?: boolean;
  /** How often the document runs crdt-sync's anti-entropy, in ms (default 200). */
  tickMs?: number;
  /** The IndexedDB database holding the document (default `"crdt-wasm"`). */
  database?: string;
  /** Reconnection backoff `[first, max]` in ms (default `[500, 30000]`, ±50 % jitter). */
  backoffMs?: [number, number];
}

/** A value as read: shapes as `Doc.get` in crdt-wasm. */
export type Value =
  | number
  | bigint
  | string
  | string[]
  | { conflict: { type: string; value: number | bigint | string | string[] }[] };

/** `offline`: not connected; `connecting`; `syncing`: connected, writes not yet
 * acknowledged; `synced`: the server acknowledged every local write. */
export type Status = "offline" | "connecting" | "syncing" | "synced";

/**
 * An open document. Reads are synchronous. A mutator throws (or rejects) on invalid
 * input and otherwise returns a Promise that resolves once the write is stored in
 * IndexedDB. Events: `change`, `status`, `error`.
 */
export class DocHandle extends EventTarget {
  /** `"primary"`: this tab holds the document, its storage and its connection;
   * `"secondary"`: another tab of this origin does, and this one mirrors it. */
  readonly role: "primary" | "secondary";
  readonly status: Status;
  /** A final refusal (bad or revoked token, forged write, …): the handle stopped
   * reconnecting. `code` is the WebSocket close code (docs/WEBSOCKET.md, §5). */
  readonly error: { code: number; reason: string } | null;
  /** Whether the browser granted persistent storage. */
  readonly persistentStorage: boolean;
  /** The replica id of this browser profile's copy of the document. */
  readonly replicaId: number;
  /** Connect (`true`) or stay offline (`false`). */
  online: boolean;

  get(key: string): Value | undefined;
  typeOf(key: string): "gcounter" | "pncounter" | "orset" | "lww" | "mvreg" | "conflict" | undefined;
  keys(prefix?: string): string[];
  metrics(): DocMetrics;

  increment(key: string, n?: number): Promise<void>;
  decrement(key: string, n?: number): Promise<void>;
  incrementGCounter(key: string, n?: number): Promise<void>;
  insert(key: string, value: string): Promise<void>;
  remove(key: string, value: string): Promise<void>;
  /** The multi-value register if `key` holds one, else the LWW-Register. */
  set(key: string, value: string): Promise<void>;
  setLww(key: string, value: string): Promise<void>;
  setMv(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;

  /** Closes the socket, the channel and the storage; another tab takes over. */
  close(): void;
}

/** Opens (and restores from IndexedDB) document `doc` of the crdt-leader at `url`. */
export function openDoc(options: OpenDocOptions): Promise<DocHandle>;
