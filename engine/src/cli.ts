// The `seer` command line: dispatches subcommands from one table. User-facing failures (SeerError) print
// `error: …` and `fix: …` and exit 1 without a stack trace; anything else is reported as an internal error.
import { calibrateCommand } from './cli/calibrateCommand';
import { doctorCommand } from './cli/doctorCommand';
import { evalCommand } from './cli/evalCommand';
import { explainCommand } from './cli/explainCommand';
import { importCommand } from './cli/importCommand';
import { infoCommand } from './cli/infoCommand';
import { representCommand } from './cli/representCommand';
import type { Command } from './cli/shared';
import { asSeerError } from './errors';

const COMMANDS: Command[] = [
  explainCommand,
  infoCommand,
  calibrateCommand,
  evalCommand,
  representCommand,
  importCommand,
  doctorCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'seer: explain LLM prompts with the model\'s own hidden representations (SEER)',
    '',
    'usage: seer <command> [options]    (seer <command> --help for its options)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 1;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`error: unknown command "${name}"\n\n${help()}\n`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

// `seer explain --file big.txt | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = asSeerError(err);
    const fix = e.fixFor('cli');
    process.stderr.write(`error: ${e.message}\n${fix ? `fix: ${fix}\n` : ''}`);
    if (e.code === 'INTERNAL' && process.env.SEER_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  },
);
