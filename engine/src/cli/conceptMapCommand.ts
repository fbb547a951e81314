// `seer concept-map DATA`: (re)computes the 2-D concept map of a bank that already exists, from the labelled
// rows it was calibrated on, and writes it beside the bank (<bank>.map.json). The map is computed exactly as
// `seer calibrate` computes it (the same calibrate() pass; its bank is discarded): this is for banks written
// without one, such as the embedded models' banks, which the Python trainer writes (scripts/build-model.sh).
import { inConceptOrder } from '../calibration/conceptMap';
import { calibrate } from '../calibration/calibrate';
import { explainWriteErrors } from '../calibration/bankFile';
import { modelFacts } from '../calibration/representer';
import { conceptMapFileFor, conceptMapToJson } from '../bundle/conceptMapFile';
import { abortOnInterrupt, progressBar } from '../report/terminalProgress';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { writeFileAtomic } from '../fsAtomic';
import { datasetCommand } from './datasetOptions';
import { ENGINE_USAGE, engineConfigFromArgs } from './shared';

const USAGE = `seer concept-map DATA --label COLUMN [options]
  DATA                  the labelled .csv, .tsv or .jsonl file the bank was calibrated on
  --label COLUMN        the concept column (required)
  --text COLS           text column(s), comma-separated (default: prompt)
  --bank NAME           the bank (default: the bundle's default bank); its concepts must be DATA's
  --seed N              seed of the sample and of UMAP (default 1)
  --batch N             rows per forward pass
  --json                print {"bank", "mapPath", "points"} as JSON
${ENGINE_USAGE}`;

export const conceptMapCommand = datasetCommand({
  name: 'concept-map',
  summary: "compute a bank's 2-D concept map (UMAP of its calibration examples) and store it beside the bank",
  usage: USAGE,
  options: { bank: { type: 'string' } },
  async run(values, dataset) {
    const engine = await Engine.load(engineConfigFromArgs(values, USAGE), (line) => process.stderr.write(`${line}\n`));
    const controller = new AbortController();
    const unhook = abortOnInterrupt(controller);
    const bar = progressBar();
    try {
      const model = modelFacts(engine.bundle);
      const name = values.bank ?? model.defaultBank;
      const bank = engine.bundle.banks.get(name);
      if (!bank?.file) {
        throw new SeerError('UNKNOWN_BANK', `The bundle ${model.dir} has no concept bank "${name}" (it has ${[...engine.bundle.banks.keys()].join(', ') || 'none'}).`, {
          fix: 'Pass one of its banks with --bank, or calibrate one with `seer calibrate` (which writes its map too).',
        });
      }
      if (dataset.pooling && dataset.pooling !== bank.pooling) {
        throw new SeerError('INVALID_ARGUMENT', `Bank "${bank.name}" was calibrated with ${bank.pooling} pooling; its map must be too (--pooling ${dataset.pooling} was given).`, {
          fix: 'Leave out --pooling: the map uses the bank\'s.',
        });
      }
      const outcome = await calibrate(engine, model, { ...dataset, bankName: bank.name, pooling: bank.pooling, heldOutFraction: 0 }, { signal: controller.signal, onProgress: bar.listener });
      bar.finish();
      const map = inConceptOrder(outcome.conceptMap, bank.concepts);
      if (!map) {
        throw new SeerError('INVALID_ARGUMENT', `${dataset.path} has the concepts ${outcome.bank.concepts.join(', ')}; bank "${bank.name}" has ${bank.concepts.join(', ')}.`, {
          fix: 'Pass the dataset the bank was calibrated on (the same concepts), or recalibrate the bank with `seer calibrate`.',
        });
      }
      const mapPath = conceptMapFileFor(bank.file);
      await explainWriteErrors(mapPath, () => writeFileAtomic(mapPath, `${JSON.stringify(conceptMapToJson(map))}\n`));
      const points = map.points.x.length;
      process.stdout.write(values.json ? `${JSON.stringify({ bank: bank.name, mapPath, points })}\n`
        : `Concept map of bank "${bank.name}" at layer ${map.layer}: ${points} examples → ${mapPath}\n`);
      return 0;
    } finally {
      bar.finish();
      unhook();
      await engine.dispose();
    }
  },
});
