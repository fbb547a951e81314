// The options `seer calibrate` and `seer eval` share: the labelled dataset, its columns, the safe list,
// pooling, batch size and seed, parsed into the DatasetSpec fields of their requests.
import type { DatasetSpec, Pooling } from '../../../common/protocol';
import { SeerError } from '../errors';
import { LIMITS } from '../limits';
import { type Command, ENGINE_OPTIONS, oneOf, parseCommandArgs, positiveInt } from './shared';

export const DATASET_OPTIONS = {
  ...ENGINE_OPTIONS,
  label: { type: 'string' },
  text: { type: 'string', default: 'prompt' },
  safe: { type: 'string' },
  pooling: { type: 'string' },
  batch: { type: 'string' },
  seed: { type: 'string', default: '1' },
  json: { type: 'boolean', default: false },
} as const;

interface DatasetValues {
  label?: string;
  text?: string;
  safe?: string;
  pooling?: string;
  batch?: string;
  seed?: string;
}

export interface DatasetArgs extends DatasetSpec {
  safeConcepts?: string[];
  pooling?: Pooling;
  batchSize?: number;
  seed: number;
}

type Options = Parameters<typeof parseCommandArgs>[1];
type Values<O extends Options> = ReturnType<typeof parseCommandArgs<typeof DATASET_OPTIONS & O>>['values'];

/** A command over a labelled dataset: DATASET_OPTIONS plus its own `options`, the dataset already parsed. */
export function datasetCommand<O extends Options>(spec: {
  name: string;
  summary: string;
  usage: string;
  options: O;
  run(values: Values<O>, dataset: DatasetArgs): Promise<number>;
}): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    run(argv) {
      const { values, positionals } = parseCommandArgs(argv, { ...DATASET_OPTIONS, ...spec.options }, spec.usage);
      return spec.run(values, datasetArgs(values, positionals, spec.usage));
    },
  };
}

export function datasetArgs(values: DatasetValues, positionals: string[], usage: string): DatasetArgs {
  const path = singleDataset(positionals, usage);
  if (!values.label) throw new SeerError('INVALID_ARGUMENT', 'Missing --label: which column holds the concept of each row?', { fix: `Usage:\n${usage}` });
  return {
    path,
    textColumns: columnList(values.text ?? 'prompt'),
    labelColumn: values.label,
    safeConcepts: values.safe ? columnList(values.safe) : undefined,
    pooling: oneOf('--pooling', values.pooling, ['last', 'mean', 'request-end'] as const, usage),
    batchSize: values.batch === undefined ? undefined : positiveInt('--batch', values.batch, usage, LIMITS.batchSize),
    seed: positiveInt('--seed', values.seed ?? '1', usage, LIMITS.seed),
  };
}

function singleDataset(positionals: string[], usage: string): string {
  if (positionals.length !== 1) {
    throw new SeerError('INVALID_ARGUMENT', positionals.length ? `Expected one dataset file, got ${positionals.length}: ${positionals.join(' ')}.` : 'Missing the dataset file.', {
      fix: `Usage:\n${usage}`,
    });
  }
  return positionals[0];
}

export function columnList(value: string): string[] {
  return value.split(',').map((c) => c.trim()).filter(Boolean);
}
