// `seer eval DATA`: per-layer nearest-prototype accuracy, macro-F1 and the paper's cosine measures of a
// bundle on labelled data, beside chance and a TF-IDF bag-of-words baseline on the same rows, with the
// calibration error of the headline probability; optionally against a second bundle or bank, with a
// self-contained HTML report.
import * as path from 'node:path';
import type { EvaluateParams, EvaluateReport } from '../../../common/protocol';
import { explainWriteErrors } from '../calibration/bankFile';
import { resolveBank } from '../calibration/bankSource';
import { DEFAULT_BATCH_SIZE } from '../calibration/calibrate';
import { DEFAULT_SPLIT, evaluate, type PrototypeSource } from '../calibration/evaluate';
import { renderEvaluationHtml } from '../report/htmlReport';
import { evaluationConceptMap } from '../calibration/conceptMap';
import { modelFacts } from '../calibration/representer';
import { abortOnInterrupt, progressBar } from '../report/terminalProgress';
import { renderEvaluation } from '../report/terminalReport';
import { type LoadedBundle, loadBundle } from '../bundle';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { writeFileAtomic } from '../fsAtomic';
import { datasetCommand } from './datasetOptions';
import { ENGINE_USAGE, engineConfigFromArgs } from './shared';

const USAGE = `seer eval DATA --label COLUMN [options]
  DATA                  labelled .csv, .tsv or .jsonl file (streamed; any size)
  --label COLUMN        the concept column (required)
  --text COLS           text column(s), comma-separated (default: prompt)
  --bank NAME|FILE      classify against this bank's prototypes (default: prototypes from the --split part)
  --split F             fraction of each concept for prototypes / the first view (default ${DEFAULT_SPLIT})
  --seed N              seed of the split (default 1)
  --safe A,B            concepts marked safe: adds the binary safe/unsafe view (default: the bank's)
  --pooling P           last | request-end | mean (default: the bank's, else the bundle's)
  --batch N             rows per forward pass (default ${DEFAULT_BATCH_SIZE})
  --layer N             layer of the second confusion matrix and the concept × concept heatmap (default: the target layer)
  --compare-bundle DIR  evaluate a second bundle the same way (e.g. models/baseline)
  --compare-bank NAME   evaluate a second bank of the same bundle
  --html FILE           write a self-contained HTML report (charts as inline SVG)
  --json                print the EvaluateReport as JSON (an array of two with --compare-*)
${ENGINE_USAGE}`;

export const evalCommand = datasetCommand({
  name: 'eval',
  summary: 'evaluate concept classification per layer on labelled data, beside chance and a TF-IDF baseline (optionally vs another bundle or bank)',
  usage: USAGE,
  options: {
    bank: { type: 'string' },
    split: { type: 'string' },
    layer: { type: 'string' },
    'compare-bundle': { type: 'string' },
    'compare-bank': { type: 'string' },
    html: { type: 'string' },
  },
  async run(values, dataset) {
    if (values['compare-bundle'] && values['compare-bank']) {
      throw new SeerError('INVALID_ARGUMENT', '--compare-bundle and --compare-bank cannot be combined.', { fix: 'Compare one thing at a time.' });
    }
    const split = values.split === undefined ? undefined : Number(values.split);
    const params: EvaluateParams = { ...dataset, split, layer: values.layer === undefined ? undefined : Number(values.layer) };
    const config = engineConfigFromArgs(values, USAGE);
    const controller = new AbortController();
    const unhook = abortOnInterrupt(controller);
    const bar = progressBar();
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const sourceFor = async (bundle: LoadedBundle, bank: string | undefined): Promise<PrototypeSource> =>
      bank ? resolveBank(bundle, bank) : { kind: 'split' };
    const run = async (engine: Engine, source: PrototypeSource): Promise<EvaluateReport> => {
      const report = await evaluate(engine, modelFacts(engine.bundle), params, source, { signal: controller.signal, onProgress: bar.listener }).finally(() => bar.finish());
      // The HTML report shows the bank's stored concept map (side by side with --compare-bundle); the JSON leaves it out.
      return values.html ? { ...report, conceptMap: await evaluationConceptMap(engine.bundle, source) } : report;
    };
    const reports: EvaluateReport[] = [];
    try {
      const engine = await Engine.load(config, log);
      try {
        // Resolve every bank (and the second bundle) before any model work, so a typo fails at once.
        const sources = [await sourceFor(engine.bundle, values.bank)];
        if (values['compare-bank']) sources.push(await sourceFor(engine.bundle, values['compare-bank']));
        if (values['compare-bundle']) await sourceFor(await loadBundle(values['compare-bundle']), values.bank);
        for (const source of sources) reports.push(await run(engine, source));
      } finally {
        await engine.dispose();
      }
      if (values['compare-bundle']) {
        const other = await Engine.load({ ...config, bundleDir: path.resolve(values['compare-bundle']) }, log);
        try {
          reports.push(await run(other, await sourceFor(other.bundle, values.bank)));
        } finally {
          await other.dispose();
        }
      }
      if (values.html) {
        const html = path.resolve(values.html);
        await explainWriteErrors(html, () => writeFileAtomic(html, renderEvaluationHtml(reports)));
        log(`report written to ${path.resolve(values.html)}`);
      }
      const out = values.json ? JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) : reports.map(renderEvaluation).join('\n\n');
      process.stdout.write(`${out}\n`);
      return 0;
    } finally {
      unhook();
    }
  },
});
