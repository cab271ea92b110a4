/**
 * A plain-object table keyed by strings that may come from clients (uids, room ids, hash fields):
 * it has no prototype, so `constructor`, `__proto__` or `toString` are ordinary keys, never
 * Object.prototype's members (a lookup of a missing key is `undefined`, an assignment never changes
 * the prototype).
 */
export function dict<T>(entries?: Iterable<readonly [string, T]>): Record<string, T> {
  const d = Object.create(null) as Record<string, T>;
  for (const [k, v] of entries ?? []) {
    d[k] = v;
  }
  return d;
}
