/** Text summaries of a fuzz run: response classes per mutation class, and violations. */

export function formatResponses(responses: Map<string, Map<string, number>>, perClass = 12): string {
  const lines: string[] = [];
  for (const [cls, m] of responses) {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    lines.push(`${cls} (${total})`);
    const sorted = [...m.entries()].sort((a, b) => b[1] - a[1]);
    for (const [what, n] of sorted.slice(0, perClass)) {
      lines.push(`  ${String(n).padStart(7)}  ${what}`);
    }
    if (sorted.length > perClass) {
      const rest = sorted.slice(perClass).reduce((a, [, n]) => a + n, 0);
      lines.push(`  ${String(rest).padStart(7)}  (${sorted.length - perClass} other classes)`);
    }
  }
  return lines.join('\n');
}

export function formatViolations(
  vs: readonly { cls: string; label: string; problem: string; frame?: string }[],
  max = 40,
): string {
  if (vs.length === 0) {
    return 'no violations';
  }
  // The same problem on many frames is listed once, with a count and one example.
  const byProblem = new Map<string, { n: number; example: (typeof vs)[number] }>();
  for (const v of vs) {
    const key = `${v.cls}: ${v.problem.replace(/\d+/g, '#').slice(0, 160)}`;
    const e = byProblem.get(key);
    if (e) {
      e.n++;
    } else {
      byProblem.set(key, { n: 1, example: v });
    }
  }
  const lines = [`${vs.length} violation(s), ${byProblem.size} distinct:`];
  for (const [, { n, example }] of [...byProblem.entries()].slice(0, max)) {
    lines.push(`  [${example.cls}] ×${n} ${example.problem}`);
    lines.push(
      `      e.g. ${example.label}${example.frame ? `  frame: ${example.frame.slice(0, 120)}` : ''}`,
    );
  }
  return lines.join('\n');
}
