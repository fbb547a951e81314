// `seer import HF_DIR --out BUNDLE`: runs the import (engine/src/importer.ts: the trainer, which builds the ONNX
// graph from the safetensors without transformers), optionally calibrates the new bundle's default bank
// (`--calibrate DATA`, with `seer calibrate` itself), then loads the bundle with the engine to check it.
import * as path from 'node:path';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { importCheckpoint } from '../importer';
import { datasetColumns } from '../input/dataset';
import { loadBundle } from '../bundle';
import { abortOnInterrupt } from '../report/terminalProgress';
import { calibrateCommand } from './calibrateCommand';
import { columnList } from './datasetOptions';
import { type Command, oneOf, parseCommandArgs } from './shared';

const USAGE = `seer import HF_DIR --out BUNDLE [options]
  HF_DIR                Hugging Face checkpoint folder: config.json, model.safetensors (or sharded
                        model-*.safetensors + model.safetensors.index.json), tokenizer.json, tokenizer_config.json
  --out BUNDLE          the SEER bundle folder to create (written beside it, renamed at the end)
  --force               replace an existing BUNDLE (refused otherwise)
  --dtype fp32|fp16     the weights' type in the bundle (default fp32; outputs are fp32 either way)
  --via graph|transformers
                        graph (default): SEER's own graph writer for Llama, Mistral, Qwen2/3, Gemma 2, no
                        transformers; transformers: other architectures, loaded with transformers (which --python
                        must have) and exported with torch.onnx.export (whole model in memory, fp32 only)
  --calibrate DATA      then calibrate the bundle's default bank from this labelled .csv/.tsv/.jsonl
                        (as seer calibrate --into-bundle), so seer explain can use the bundle at once
  --label COLUMN        with --calibrate: the concept column (required)
  --text COLS           with --calibrate: text column(s), comma-separated (default: prompt)
  --python PATH         the Python that runs the trainer; needs torch, onnx and jinja2
                        (default: $SEER_PYTHON, else the first of /usr/bin/python3 and python3 on
                        PATH that has them)`;

export const importCommand: Command = {
  name: 'import',
  summary: 'turn a Hugging Face checkpoint folder (e.g. Llama 3.x) into a SEER bundle, without transformers',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        out: { type: 'string' },
        force: { type: 'boolean', default: false },
        dtype: { type: 'string' },
        via: { type: 'string' },
        calibrate: { type: 'string' },
        label: { type: 'string' },
        text: { type: 'string' },
        python: { type: 'string' },
      },
      USAGE,
    );
    if (positionals.length !== 1 || !values.out) {
      throw new SeerError('INVALID_ARGUMENT', 'seer import needs one checkpoint folder and --out BUNDLE.', { fix: `Usage:\n${USAGE}` });
    }
    const dtype = oneOf('--dtype', values.dtype, ['fp32', 'fp16'] as const, USAGE);
    const via = oneOf('--via', values.via, ['graph', 'transformers'] as const, USAGE);
    const calibration = values.calibrate === undefined ? undefined : { data: path.resolve(values.calibrate), label: values.label, text: values.text };
    if (calibration) await checkCalibrationData(calibration.data, calibration.label, columnList(calibration.text ?? 'prompt'));
    else if (values.label !== undefined || values.text !== undefined) {
      throw new SeerError('INVALID_ARGUMENT', '--label and --text go with --calibrate DATA.', { fix: `Usage:\n${USAGE}` });
    }

    const controller = new AbortController();
    const unhook = abortOnInterrupt(controller);
    let bundleDir: string;
    try {
      ({ bundleDir } = await importCheckpoint({
        checkpoint: positionals[0],
        out: values.out,
        force: values.force,
        dtype,
        via,
        python: values.python,
        signal: controller.signal,
        onLine: (line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`),
      }));
    } finally {
      unhook();
    }
    if (calibration) await calibrateNewBundle(bundleDir, calibration.data, calibration.label!, calibration.text);
    await checkAndSummarize(bundleDir);
    return 0;
  },
};

/** Before the import: the dataset is readable and has the columns named, so a typo does not cost an import. */
async function checkCalibrationData(data: string, label: string | undefined, text: string[]): Promise<void> {
  if (!label) throw new SeerError('INVALID_ARGUMENT', '--calibrate needs --label: which column of the dataset holds the concept of each row?', { fix: `Usage:\n${USAGE}` });
  const columns = await datasetColumns(data);
  const missing = [label, ...text].filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new SeerError('DATASET_COLUMN_MISSING', `${data} has no column ${missing.map((c) => `"${c}"`).join(', ')} (it has ${columns.join(', ') || 'none'}). Nothing was imported.`, {
      file: data,
      fix: 'Name its concept column with --label and its text column(s) with --text.',
    });
  }
}

/**
 * `seer calibrate DATA --into-bundle` on the new bundle, under its default bank name: the bundle was just
 * created by this user, so the bank belongs in it. The bundle stays when calibration fails; the error says so.
 */
async function calibrateNewBundle(bundleDir: string, data: string, label: string, text: string | undefined): Promise<void> {
  const { defaultBank } = (await loadBundle(bundleDir)).manifest;
  const args = [data, '--label', label, ...(text === undefined ? [] : ['--text', text]), '--bundle', bundleDir, '--into-bundle', '--bank-name', defaultBank];
  process.stdout.write(`calibrating the bank "${defaultBank}" of ${bundleDir} from ${data}\n`);
  try {
    await calibrateCommand.run(args);
  } catch (err) {
    if (!(err instanceof SeerError)) throw err;
    throw new SeerError(err.code, `The bundle ${bundleDir} was imported, but calibrating it failed: ${err.message}`, {
      file: err.file,
      fix: `${err.fixFor('cli') ?? 'Fix the dataset'}; then run seer calibrate ${args.map(quoteArg).join(' ')}`,
    });
  }
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Loads the new bundle on the CPU (as every command would) and says what it holds and what to do next. */
async function checkAndSummarize(out: string): Promise<void> {
  const engine = await Engine.load({ bundleDir: out, provider: 'cpu' });
  try {
    const b = engine.info.bundle;
    const a = b.architecture;
    const lines = [
      `checked: the engine loads ${out}`,
      `  architecture     ${a.type}: ${a.numLayers} layers, hidden ${a.hiddenSize}, ${a.numHeads} heads, vocabulary ${a.vocabSize}, context ${a.maxContext}`,
      `  target layer     ${b.targetLayers.join(', ')} of ${a.numLayers} (representation: ${b.representation} token)`,
      `  prompt template  ${JSON.stringify(b.promptTemplate)}`,
      b.banks.length > 0
        ? `  concept banks    ${b.banks.join(', ')} (explain with: seer explain TEXT --bundle ${out})`
        : `no concept bank yet: run seer calibrate DATA --label COLUMN --bundle ${out} --bank-name ${b.defaultBank}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await engine.dispose();
  }
}
