// The `seer` command line: dispatches subcommands from one table. User-facing failures (SeerError) print
// `error: …` and `fix: …` and exit 1 without a stack trace; anything else is reported as an internal error.
import { calibrateCommand } from './cli/calibrateCommand';
import { compareCommand } from './cli/compareCommand';
import { conceptMapCommand } from './cli/conceptMapCommand';
import { doctorCommand } from './cli/doctorCommand';
import { evalCommand } from './cli/evalCommand';
import { explainCommand } from './cli/explainCommand';
import { generateCommand } from './cli/generateCommand';
import { importCommand } from './cli/importCommand';
import { infoCommand } from './cli/infoCommand';
import { representCommand } from './cli/representCommand';
import type { Command } from './cli/shared';
import { asSeerError } from './errors';
import { CUDA_LIBS_ENV, rerunWithCudaLibs, setUpCudaLibs, startedWithCudaLibs, takeCudaLibsFlag } from './runtime/cudaSetup';
import { ortBinaryDir } from './runtime/providers';

const COMMANDS: Command[] = [
  explainCommand,
  compareCommand,
  generateCommand,
  infoCommand,
  calibrateCommand,
  conceptMapCommand,
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
    '       --cuda-libs DIR with any command: the folder of onnxruntime\'s CUDA provider libraries (or SEER_CUDA_LIBS)',
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
  // --cuda-libs DIR or SEER_CUDA_LIBS: the CUDA provider's folder (engine/src/runtime/cudaSetup.ts). The loader
  // reads LD_LIBRARY_PATH only at start, so seer reruns itself with the folder on it; doctor checks it, the
  // other commands link its providers where onnxruntime looks for them.
  const { argv: args, dir } = takeCudaLibsFlag(rest);
  const cudaLibs = dir ?? (process.env[CUDA_LIBS_ENV] || undefined);
  if (cudaLibs && process.platform === 'linux') {
    if (!startedWithCudaLibs(cudaLibs)) return rerunWithCudaLibs(cudaLibs, [name, ...args]);
    if (name !== 'doctor') await setUpCudaLibs(cudaLibs, ortBinaryDir());
  }
  return command.run(args);
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
