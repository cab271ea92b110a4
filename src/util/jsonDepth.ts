/**
 * Whether parsed JSON `value` nests objects/arrays more than `max` levels (`value` itself is level 0).
 * Iterative: a client's 5,000-deep object must not overflow the stack here as it would in
 * JSON.stringify, the Bus or the Store further on.
 */
export function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (typeof v !== 'object' || v === null) {
      continue;
    }
    if (depth >= max) {
      return true;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) {
        stack.push([child, depth + 1]);
      }
    }
  }
  return false;
}
