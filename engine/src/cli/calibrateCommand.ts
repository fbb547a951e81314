// `seer calibrate DATA`: builds a concept bank from a labelled CSV/TSV/JSONL file (see engine/src/calibration).
import { calibrate, DEFAULT_BATCH_SIZE, DEFAULT_HELD_OUT_FRACTION } from '../calibration/calibrate';
import { checkSaveTarget, saveBank } from '../calibration/bankFile';
import { modelFacts } from '../calibration/representer';
import { abortOnInterrupt, progressBar } from '../calibration/terminalProgress';
import { renderCalibration } from '../calibration/terminalReport';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { type Command, ENGINE_OPTIONS, ENGINE_USAGE, engineConfigFromArgs, oneOf, parseCommandArgs, positiveInt } from './shared';

const USAGE = `seer calibrate DATA --label COLUMN [options]
  DATA                  labelled .csv, .tsv or .jsonl file (streamed; any size)
  --label COLUMN        the concept column (required)
  --text COLS           text column(s), comma-separated and joined by a blank line (default: prompt)
  --bank-name NAME      bank name (default: custom); written to <bundle>/banks/NAME.json and registered in seer.json
  --out FILE            write the bank here instead (the bundle is left untouched)
  --force               allow replacing the bundle's default bank
  --safe A,B            concepts marked safe (the rest are unsafe)
  --pooling P           last | mean (default: the bundle's representation)
  --batch N             rows per forward pass (default ${DEFAULT_BATCH_SIZE})
  --held-out F          fraction of each concept held out for the held-out accuracy (default ${DEFAULT_HELD_OUT_FRACTION}, at most 64 rows)
  --seed N              seed of the held-out sample (default 1)
  --json                print the CalibrateResult as JSON
${ENGINE_USAGE}`;

export const calibrateCommand: Command = {
  name: 'calibrate',
  summary: 'build a concept bank (prototypes + per-layer statistics) from a labelled dataset',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...ENGINE_OPTIONS,
        label: { type: 'string' },
        text: { type: 'string', default: 'prompt' },
        'bank-name': { type: 'string', default: 'custom' },
        out: { type: 'string' },
        force: { type: 'boolean', default: false },
        safe: { type: 'string' },
        pooling: { type: 'string' },
        batch: { type: 'string' },
        'held-out': { type: 'string' },
        seed: { type: 'string', default: '1' },
        json: { type: 'boolean', default: false },
      },
      USAGE,
    );
    const data = singleDataset(positionals, USAGE);
    if (!values.label) throw new SeerError('BAD_ARGS', 'Missing --label: which column holds the concept of each row?', { fix: `Usage:\n${USAGE}` });
    const heldOut = values['held-out'] === undefined ? undefined : Number(values['held-out']);
    if (heldOut !== undefined && !(heldOut >= 0 && heldOut < 1)) {
      throw new SeerError('BAD_ARGS', `--held-out must be in [0, 1), got "${values['held-out']}".`, { fix: 'Use e.g. --held-out 0.2 (0 disables the held-out accuracy).' });
    }
    const engine = await Engine.load(engineConfigFromArgs(values, USAGE), (line) => process.stderr.write(`${line}\n`));
    const controller = new AbortController();
    const unhook = abortOnInterrupt(controller);
    const bar = progressBar();
    try {
      const model = modelFacts(engine.bundle);
      checkSaveTarget(values['bank-name']!, model, { out: values.out, force: values.force });
      const outcome = await calibrate(
        engine,
        model,
        {
          path: data,
          textColumns: columnList(values.text!),
          labelColumn: values.label,
          bankName: values['bank-name'],
          safeConcepts: values.safe ? columnList(values.safe) : undefined,
          pooling: oneOf('--pooling', values.pooling, ['last', 'mean'] as const, USAGE),
          batchSize: values.batch === undefined ? undefined : positiveInt('--batch', values.batch, USAGE),
          heldOutFraction: heldOut,
          seed: positiveInt('--seed', values.seed!, USAGE),
        },
        { signal: controller.signal, onProgress: bar.listener },
      );
      bar.finish();
      const bankPath = await saveBank(outcome.bank, model, { out: values.out, force: values.force });
      const result = { bankPath, ...outcome.result };
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderCalibration(result)}\n`);
      return 0;
    } finally {
      bar.finish();
      unhook();
      await engine.dispose();
    }
  },
};

export function singleDataset(positionals: string[], usage: string): string {
  if (positionals.length !== 1) {
    throw new SeerError('BAD_ARGS', positionals.length ? `Expected one dataset file, got ${positionals.length}: ${positionals.join(' ')}.` : 'Missing the dataset file.', {
      fix: `Usage:\n${usage}`,
    });
  }
  return positionals[0];
}

export function columnList(value: string): string[] {
  return value.split(',').map((c) => c.trim()).filter(Boolean);
}
