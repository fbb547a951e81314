// npm run package [-- --target <vsce target>]: production build, then a platform-specific .vsix with
// the default model and onnxruntime-node's native binaries for that platform only.
// .vscodeignore is written for linux-x64; other targets get a copy with their binary folder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const argTarget = process.argv.indexOf('--target');
const target = argTarget > 0 ? process.argv[argTarget + 1] : 'linux-x64';
const ORT_DIRS = {
  'linux-x64': 'linux/x64', 'linux-arm64': 'linux/arm64', 'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64', 'win32-arm64': 'win32/arm64',
};
const fail = (msg) => {
  console.error(`package: ${msg}`);
  process.exit(1);
};
if (!ORT_DIRS[target]) fail(`no onnxruntime-node binaries for target "${target}"; use one of ${Object.keys(ORT_DIRS).join(', ')}.`);

execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio: 'inherit' });
for (const f of ['dist/extension.js', 'dist/engine-server.js', 'dist/host-worker.js', 'dist/webview.js', 'models/default/seer.json']) {
  if (!existsSync(path.join(root, f))) fail(`${f} is missing: build the engine (npm run build) and the default model (npm run build:model) first.`);
}

let ignoreFile = path.join(root, '.vscodeignore');
if (target !== 'linux-x64') {
  mkdirSync(path.join(root, 'out'), { recursive: true });
  ignoreFile = path.join(root, 'out', `vscodeignore-${target}`);
  writeFileSync(ignoreFile, readFileSync(path.join(root, '.vscodeignore'), 'utf8').replaceAll('linux/x64', ORT_DIRS[target]));
}
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.join(root, `seer-vscode-${target}-${version}.vsix`);
const vsce = require.resolve('@vscode/vsce/vsce');
execFileSync(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', out,
  '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--no-update-package-json', '--no-git-tag-version'], { cwd: root, stdio: 'inherit' });
console.log(`package: ${out} (${(statSync(out).size / 1e6).toFixed(1)} MB)`);
