/**
 * docs/cli.md from commander's help: `buildProgram()` (src/cli/program.ts) is built but not run, and
 * every visible command's `--help` output (with its `addHelpText` parts) is captured as a terminal that
 * is not one would see it: 80 columns, no colours.
 */
import { Help, type Command } from 'commander';
import { buildProgram } from '../../src/cli/program.ts';
import { anchor, code } from './markdown.ts';

/** What `<command> --help` prints, written to a string instead of stdout. */
function helpText(cmd: Command): string {
  let out = '';
  cmd.configureOutput({
    writeOut: (s) => {
      out += s;
    },
    getOutHelpWidth: () => 80,
    getOutHasColors: () => false,
  });
  cmd.outputHelp();
  return out.trimEnd();
}

/** `cmd` and its visible subcommands, depth first, with their full names (`switchboard start`). */
function commands(cmd: Command, prefix: string[] = []): { name: string; cmd: Command }[] {
  const path = [...prefix, cmd.name()];
  const subs = new Help().visibleCommands(cmd).filter((c) => c.name() !== 'help');
  return [{ name: path.join(' '), cmd }, ...subs.flatMap((c) => commands(c, path))];
}

/** The Markdown of docs/cli.md (before prettier). */
export function cliReference(notice: string): string {
  const all = commands(buildProgram());
  const toc = all.map(({ name, cmd }) => `- [${code(name)}](#${anchor(name)}): ${cmd.description()}`);
  const sections = all.map(({ name, cmd }) => `## ${name}\n\n\`\`\`text\n${helpText(cmd)}\n\`\`\``);
  return `# Command-line reference

After reading this you know every \`switchboard\` command and option: running the server or a local
cluster, minting access tokens, and managing rooms and recordings from a shell.

${notice}

\`switchboard\` is \`bin/switchboard.js\` in the repository; \`npm start\` runs \`switchboard start\` and
\`npm run cluster\` runs \`switchboard cluster\`. Each section below is what \`switchboard <command> --help\`
(or \`switchboard help <command>\`) prints. The configuration file that \`--config\` takes is described
in [the configuration reference](configuration.md).

${toc.join('\n')}

${sections.join('\n\n')}
`;
}
