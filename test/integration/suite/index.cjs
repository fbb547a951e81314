// Runs inside VS Code's extension host (loaded by @vscode/test-electron): real activation, commands,
// engine process and panel.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');
const vscode = require('vscode');

const EXT_ID = 'seer-vscode.seer-vscode';

/** The session entry of result `id`, once the extension has recorded it (it records in the background). */
async function recordedEntry(sessionFile, id) {
  for (let waited = 0; waited < 10_000; waited += 100) {
    const entry = fs.existsSync(sessionFile) && JSON.parse(fs.readFileSync(sessionFile, 'utf8')).entries.find((e) => e.id === id);
    if (entry) return entry;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`result ${id} was not recorded in ${sessionFile}`);
}

function suite() {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: true });
  mocha.suite.emit('pre-require', global, 'seer', mocha);

  describe('SEER extension', () => {
    it('is not activated before a SEER command is used (contribution-based activation)', () => {
      const ext = vscode.extensions.getExtension(EXT_ID);
      assert.ok(ext, `${EXT_ID} is installed`);
      assert.equal(ext.isActive, false);
    });

    it('contributes its commands, views and restricted setting', async () => {
      const ext = vscode.extensions.getExtension(EXT_ID);
      const pkg = ext.packageJSON;
      assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['seer.bundlePath']);
      await ext.activate();
      const commands = await vscode.commands.getCommands(true);
      for (const c of ['seer.explainSelection', 'seer.explainFile', 'seer.selectBundle', 'seer.showOutput', 'seer.calibrate', 'seer.importHfModel',
        'seer.compareWith', 'seer.compareHistoryEntries', 'seer.compareSelectionWithBundle', 'seer.openGeneration', 'seer.exportSession']) {
        assert.ok(commands.includes(c), `${c} registered`);
      }
    });

    it('explains the selected prompt with the default model and renders the panel', async () => {
      const ext = vscode.extensions.getExtension(EXT_ID);
      const api = await ext.activate();
      const folder = vscode.workspace.workspaceFolders[0].uri;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'prompts.txt'));
      await vscode.window.showTextDocument(doc);
      // The explain is recorded in the workspace's session (docs/extension.md#sessions), removed after so the tree stays clean.
      const sessionFile = path.join(folder.fsPath, '.seer-session.json');
      try {
        const { result, renderMs } = await api.explainText(doc.lineAt(0).text);
        const manifest = require(path.join(ext.extensionPath, 'models/default/seer.json'));
        assert.deepEqual(result.concepts, manifest.concepts);
        assert.equal(result.layers.length, manifest.architecture.numLayers + 1);
        assert.ok(Number.isFinite(renderMs), 'the panel reported a render');
        const recorded = await recordedEntry(sessionFile, result.id);
        assert.equal(recorded.prompt, doc.lineAt(0).text);
        assert.equal(recorded.summary.concept, result.headline.concept);
      } finally {
        fs.rmSync(sessionFile, { force: true });
      }
    });
  });

  return new Promise((resolve, reject) => mocha.run((failures) => (failures ? reject(new Error(`${failures} failed`)) : resolve())));
}

module.exports = { run: suite };
