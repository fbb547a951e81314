// Integration tests in a real VS Code through @vscode/test-electron (the standard harness). They need
// to download VS Code; where that is impossible (no internet, as on the build machine) they skip
// with a clear message. The end-to-end test (test/e2e) covers the same paths in code-server.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
if (!existsSync(path.join(root, 'dist/extension.js'))) {
  console.error('test:integration: dist/extension.js is missing; run npm run build first.');
  process.exit(1);
}
let vscodeExecutablePath;
try {
  vscodeExecutablePath = process.env.VSCODE_EXECUTABLE ?? (await downloadAndUnzipVSCode({ version: 'stable', timeout: 20_000 }));
} catch (e) {
  console.log(`SKIPPED: integration tests need VS Code, which could not be downloaded here (${e.message.split('\n')[0]}). ` +
    'Run them where update.code.visualstudio.com is reachable, or set VSCODE_EXECUTABLE to a local VS Code binary.');
  process.exit(0);
}
await runTests({
  vscodeExecutablePath,
  extensionDevelopmentPath: root,
  extensionTestsPath: path.join(root, 'test/integration/suite/index.cjs'),
  launchArgs: ['--disable-extensions', '--skip-welcome', path.join(root, 'test/integration/workspace')],
});
