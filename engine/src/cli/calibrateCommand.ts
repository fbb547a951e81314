// `seer calibrate DATA`: builds a concept bank from a labelled CSV/TSV/JSONL file (see engine/src/calibration).
import { checkSaveTarget, saveBank } from '../calibration/bankFile';
import { calibrate, DEFAULT_BATCH_SIZE, DEFAULT_HELD_OUT_FRACTION } from '../calibration/calibrate';
import { modelFacts } from '../calibration/representer';
import { abortOnInterrupt, progressBar } from '../report/terminalProgress';
import { renderCalibration } from '../report/terminalReport';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { datasetCommand } from './datasetOptions';
import { ENGINE_USAGE, engineConfigFromArgs } from './shared';

const USAGE = `seer calibrate DATA --label COLUMN [options]
  DATA                  labelled .csv, .tsv or .jsonl file (streamed; any size)
  --label COLUMN        the concept column (required)
  --text COLS           text column(s), comma-separated and joined by a blank line (default: prompt)
  --bank-name NAME      bank name (default: custom); written to the user bank folder,
                        $XDG_DATA_HOME/seer/banks/<bundle name>/NAME.json (default ~/.local/share/…;
                        %APPDATA%\\seer\\banks\\… on Windows), where explain finds it by name
  --out FILE            write the bank to FILE instead (use it with seer eval --bank FILE)
  --into-bundle         write into the bundle instead: <bundle>/banks/NAME.json, registered in seer.json
  --force               replace an existing bank of that name (refused otherwise)
  --safe A,B            concepts marked safe, the others unsafe (default: safety unknown)
  --pooling P           last | request-end | mean (default: the bundle's representation)
  --batch N             rows per forward pass (default ${DEFAULT_BATCH_SIZE})
  --held-out F          fraction of each concept held out for the held-out accuracy and silhouette
                        (default ${DEFAULT_HELD_OUT_FRACTION}, at most 64 rows; see docs/bundle-format.md)
  --seed N              seed of the held-out split (default 1)
  --json                print the CalibrateResult as JSON
${ENGINE_USAGE}`;

export const calibrateCommand = datasetCommand({
  name: 'calibrate',
  summary: 'build a concept bank (prototypes + per-layer statistics) from a labelled dataset',
  usage: USAGE,
  options: {
    'bank-name': { type: 'string', default: 'custom' },
    out: { type: 'string' },
    'into-bundle': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    'held-out': { type: 'string' },
  },
  async run(values, dataset) {
    const heldOut = values['held-out'] === undefined ? undefined : Number(values['held-out']);
    if (heldOut !== undefined && !(heldOut >= 0 && heldOut < 1)) {
      throw new SeerError('INVALID_ARGUMENT', `--held-out must be in [0, 1), got "${values['held-out']}".`, { fix: 'Use e.g. --held-out 0.2 (0 disables the held-out accuracy).' });
    }
    const config = engineConfigFromArgs(values, USAGE);
    const engine = await Engine.load(config, (line) => process.stderr.write(`${line}\n`));
    const controller = new AbortController();
    const unhook = abortOnInterrupt(controller);
    const bar = progressBar();
    try {
      const model = modelFacts(engine.bundle);
      const save = { out: values.out, intoBundle: values['into-bundle'], force: values.force, userBankDir: engine.bundle.userBankDir };
      checkSaveTarget(values['bank-name']!, model, save);
      const outcome = await calibrate(engine, model, { ...dataset, bankName: values['bank-name'], heldOutFraction: heldOut }, { signal: controller.signal, onProgress: bar.listener });
      bar.finish();
      const bankPath = await saveBank(outcome.bank, model, { ...save, signal: controller.signal, conceptMap: outcome.conceptMap });
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
});
