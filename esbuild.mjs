// One build for every part: the extension host, the engine child process, the CLI (node, CJS) and the
// webview (browser, IIFE). onnxruntime-node stays external: its .node binary must be loaded from
// node_modules with its own layout (microsoft/onnxruntime#25980).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'warning',
};

const builds = [
  { entry: 'engine/src/cli.ts', out: 'dist/cli.js', opts: node },
  { entry: 'engine/src/server.ts', out: 'dist/engine-server.js', opts: node },
  // The engine's host worker threads (engine/src/hostWork/pool.ts finds it beside the engine's bundle).
  { entry: 'engine/src/hostWork/worker.ts', out: 'dist/host-worker.js', opts: node },
  { entry: 'extension/src/extension.ts', out: 'dist/extension.js', opts: node },
  {
    entry: 'webview/src/main.ts',
    out: 'dist/webview.js',
    opts: { ...node, platform: 'browser', target: 'es2022', format: 'iife', external: [] },
  },
].filter((b) => existsSync(b.entry));

const contexts = await Promise.all(
  builds.map((b) => esbuild.context({ ...b.opts, entryPoints: [b.entry], outfile: b.out })),
);
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('[esbuild] watching');
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
