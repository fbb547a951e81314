// `seer info`: the bundle, its concepts and banks, and the execution provider that would run.
import { Engine } from '../engine';
import { renderInfo } from '../report/explanationReport';
import { styleFor } from '../report/terminalStyle';
import { type Command, ENGINE_OPTIONS, ENGINE_USAGE, engineConfigFromArgs, parseCommandArgs } from './shared';

const USAGE = `seer info [--json]
${ENGINE_USAGE}`;

export const infoCommand: Command = {
  name: 'info',
  summary: 'show the bundle, its concepts and banks, and the provider that would run',
  usage: USAGE,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...ENGINE_OPTIONS, json: { type: 'boolean', default: false } }, USAGE);
    const engine = await Engine.load(engineConfigFromArgs(values, USAGE));
    try {
      process.stdout.write(values.json ? `${JSON.stringify(engine.info, null, 2)}\n` : `${renderInfo(engine.info, styleFor(process.stdout))}\n`);
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
