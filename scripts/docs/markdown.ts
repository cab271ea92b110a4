/** Small Markdown helpers shared by the reference generators. */
import { format, resolveConfig } from 'prettier';

/** One table cell: pipes escaped (also inside code spans, as GFM wants) and no line breaks. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** A GFM table; prettier aligns it. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `text` as inline code, with a longer fence when it holds backticks. */
export function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return fence === '`' ? `\`${text}\`` : `${fence} ${text} ${fence}`;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
export function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The line under each generated file's title: where it comes from and how to regenerate it. */
export function generatedNotice(source: string): string {
  return `> Generated from \`${source}\` by \`npm run docs\`: change the source, not this file.`;
}

/**
 * Formats Markdown with the repository's prettier settings, so the files pass `prettier --check`.
 * `path` (relative to the repository) only selects the settings.
 */
export async function formatMarkdown(markdown: string, path: string): Promise<string> {
  const options = (await resolveConfig(new URL(`../../${path}`, import.meta.url))) ?? {};
  return format(markdown, { ...options, parser: 'markdown' });
}
