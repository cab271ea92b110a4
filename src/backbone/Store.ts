/**
 * The state seam between roles: keys with TTL, hashes, atomic set-if-absent and compare-and-delete
 * (leases). The in-memory implementation is the embedded default; Redis slots in for a cluster.
 */
export interface Store {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Atomic claim: true when the key did not exist and now holds `value`. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  /** Atomic renew: extends the TTL only while the key still holds `expected`. */
  refresh(key: string, expected: string, ttlMs: number): Promise<boolean>;
  /** Atomic release: deletes only while the key still holds `expected`. */
  compareAndDelete(key: string, expected: string): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Keys starting with `prefix` (scan; for tables of modest size such as nodes and rooms). */
  keys(prefix: string): Promise<string[]>;
  hset(key: string, fields: Record<string, string>, ttlMs?: number): Promise<void>;
  /**
   * Every field of a hash, as an object without a prototype (src/util/dict.ts): fields are often
   * client-chosen (uids, room ids), and `constructor` or `__proto__` must read as plain fields.
   */
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, field: string): Promise<void>;
  /**
   * Registers `fn` to run after the Store found its server emptied (Redis restarted without
   * persistence, FLUSHALL, a failover to an empty replica): whoever owns keys writes them again.
   * Returns the unregister function. In-memory Stores cannot lose data while their process runs.
   */
  onReset(fn: () => Promise<void>): () => void;
  /** Looks now whether the server was emptied (running the `onReset` callbacks if so); resolves after. */
  checkReset(): Promise<void>;
  close(): Promise<void>;
}
