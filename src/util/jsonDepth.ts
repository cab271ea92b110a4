/**
 * Walks the objects and arrays of parsed JSON `value` (`value` itself is depth 0), depth first, and
 * returns the first result `visit` gives that is not undefined. Iterative: a client's 5,000-deep
 * object must not overflow the stack here as it would in JSON.stringify, the Bus or the Store further on.
 */
export function walkJson<T>(
  value: unknown,
  visit: (node: object, depth: number) => T | undefined,
): T | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (typeof v !== 'object' || v === null) {
      continue;
    }
    const found = visit(v, depth);
    if (found !== undefined) {
      return found;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) {
        stack.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}

/** Whether parsed JSON `value` nests objects/arrays more than `max` levels (`value` itself is level 0). */
export function deeperThan(value: unknown, max: number): boolean {
  return walkJson(value, (_node, depth) => (depth >= max ? true : undefined)) === true;
}
