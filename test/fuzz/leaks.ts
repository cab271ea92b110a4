/**
 * What an error text must never show a client: JavaScript runtime messages, stack frames, file paths.
 * Internal failures are meant to read `internal error (log id …)` (STYLE.md §5).
 */
const LEAKS: [string, RegExp][] = [
  ['runtime TypeError text', /Cannot (read|set) propert/i],
  ['"undefined"', /\bundefined\b/],
  ['stack overflow text', /Maximum call stack/i],
  ['stack frame', /\n\s*at |\bat [\w.<>]+ \(|\bat (file|node):/],
  ['file path', /(\/[\w.-]+){2,}\.(ts|js|mjs|cjs)\b|file:\/\/|node_modules|node:internal/],
  ['"is not a function"', /is not a function|is not iterable|is not defined/],
  ['JS error class name', /\b(TypeError|RangeError|ReferenceError|SyntaxError|InternalError)\b/],
  ['"[object Object]"', /\[object \w+\]/],
  ['JSON.parse position text', /in JSON at position|Unexpected token|Unexpected end of JSON/],
];

/**
 * zod's wording for a missing value ("expected string, received undefined") names the absent input,
 * not an internal; it is allowed so that only real leaks are reported.
 */
const ZOD_MISSING = /received undefined/g;

/** The name of the first leak in `message`, or undefined when it is clean. */
export function leakIn(message: string): string | undefined {
  const text = message.replace(ZOD_MISSING, 'received nothing');
  return LEAKS.find(([, re]) => re.test(text))?.[0];
}
