// `seer doctor`: what each execution provider needs, what is missing and how to fix it, and whether it starts.
import * as path from 'node:path';
import { childProbe, renderDoctor, runDoctor, systemView } from '../runtime/doctor';
import { type Command, defaultBundleDir, parseCommandArgs } from './shared';

const USAGE = `seer doctor [--json] [--bundle DIR] [--python PATH]
  Checks the cpu, webgpu, cuda and torch execution providers: the system libraries each needs (with the
  package to install when one is missing), for torch the Python's PyTorch and the CUDA devices it sees,
  then starts each on the bundle in a child process, so native warnings (Dawn, onnxruntime) go into the
  report instead of the terminal.
  --json                the report as JSON (start.nativeLog holds the native output)
  --bundle DIR          the bundle to start the providers on (default: models/default of this package)
  --python PATH         the Python of --provider torch to check (default: $SEER_PYTHON, else of
                        /usr/bin/python3 and python3 on PATH the one whose PyTorch sees CUDA)`;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check the cpu, webgpu, cuda and torch providers: what is missing, how to fix it, whether each starts',
  usage: USAGE,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean', default: false }, bundle: { type: 'string' }, python: { type: 'string' } }, USAGE);
    const bundleDir = values.bundle ? path.resolve(values.bundle) : defaultBundleDir();
    const python = values.python?.trim() || undefined; // none: the one the torch provider would choose (findTorchPython)
    // The probe re-runs this CLI (bin/seer.js, or dist/cli.js when run directly) as `seer info --provider P`.
    const report = await runDoctor(systemView({ python }), childProbe(process.argv[1], bundleDir, { python }));
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderDoctor(report)}\n`);
    // CPU is the one provider every install must have; the GPU ones are optional.
    return report.providers.find((p) => p.provider === 'cpu')?.start?.ok ? 0 : 1;
  },
};
