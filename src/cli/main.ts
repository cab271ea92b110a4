// The `switchboard` command (bin/switchboard.js imports this): builds the command line and runs it.
import { buildProgram } from './program.ts';

await buildProgram().parseAsync(process.argv);
