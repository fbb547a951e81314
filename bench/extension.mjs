// Panel render benchmark in Chromium: loads the built webview (dist/webview.js) under the panel's
// strict CSP, posts results of 12 to 2,000 tokens and reads the render time the webview reports.
// Also fails on any CSP violation (e.g. an inline <style> injected by a component library). Then the compare
// view on real `seer compare` results (needs npm run build), and whether it fits 400 px without scrolling sideways.
// Usage: node bench/extension.mjs   (needs Chromium: CHROMIUM or /usr/bin/chromium)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { requireBuild, seerJson } from './common.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log(`SKIPPED: no Chromium at ${CHROMIUM}; run ../shared/tools/code-server-setup.sh or set CHROMIUM`);
  process.exit(0);
}
if (!existsSync(path.join(root, 'dist/webview.js'))) {
  console.error('bench/extension: dist/webview.js is missing; run npm run build first');
  process.exit(1);
}

// The result fixture is TypeScript: bundle it for the browser side.
const fixture = await esbuild.build({
  entryPoints: [path.join(root, 'test/webview/resultFixture.ts')], bundle: true, write: false, format: 'iife', globalName: 'fixture',
});
const DARK = `body{--vscode-foreground:#ccc;--vscode-editor-background:#1f1f1f;--vscode-sideBar-background:#181818;
--vscode-widget-border:#313131;--vscode-font-family:sans-serif;--vscode-font-size:13px;--vscode-editorWarning-foreground:#cca700;
--vscode-editorHoverWidget-background:#202020;--vscode-editorHoverWidget-foreground:#ccc;--vscode-editorHoverWidget-border:#454545;
--vscode-focusBorder:#0078d4;--vscode-textBlockQuote-background:#2b2b2b;--vscode-textBlockQuote-border:#616161}`;
const nonce = 'bench0nonce';
const server = createServer((req, res) => {
  const files = { '/webview.js': 'dist/webview.js', '/panel.css': 'media/panel.css' };
  if (req.url === '/') {
    const csp = `default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'nonce-${nonce}'; font-src 'self'`;
    res.setHeader('content-type', 'text/html');
    return res.end(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="${csp}">
<link rel="stylesheet" href="/theme.css"><link rel="stylesheet" href="/panel.css"></head>
<body class="vscode-dark"><main id="root"></main>
<script nonce="${nonce}" src="/stub.js"></script><script nonce="${nonce}" src="/fixture.js"></script>
<script nonce="${nonce}" src="/webview.js"></script></body></html>`);
  }
  if (req.url === '/theme.css') return res.end(DARK);
  if (req.url === '/fixture.js') return res.end(fixture.outputFiles[0].text);
  if (req.url === '/stub.js') {
    return res.end(`window.posted=[];let s;window.acquireVsCodeApi=()=>({postMessage:(m)=>posted.push(m),getState:()=>s,setState:(v)=>{s=v}});`);
  }
  if (files[req.url]) {
    res.setHeader('content-type', req.url.endsWith('.css') ? 'text/css' : 'text/javascript');
    return res.end(readFileSync(path.join(root, files[req.url])));
  }
  res.statusCode = 404;
  res.end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const results = {};
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const violations = [];
  page.on('console', (m) => /Content Security Policy|Refused to/.test(m.text()) && violations.push(m.text()));
  page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.posted.some((m) => m.type === 'ready'));
  const CONCEPTS = ['violence', 'self-harm', 'weapons', 'cooking', 'finance', 'medicine', 'travel'];
  for (const tokens of [12, 512, 2000]) {
    const samples = [];
    for (let i = 0; i < 5; i++) {
      const ms = await page.evaluate(async ({ tokens, i, CONCEPTS }) => {
        const result = { ...window.fixture.makeResult({ tokens, concepts: CONCEPTS }), id: `r${tokens}-${i}` };
        window.postMessage({ type: 'result', result, settings: { heatmapScheme: 'diverging' } }, '*');
        for (;;) {
          const m = window.posted.find((p) => p.type === 'rendered' && p.id === result.id);
          if (m) return m.ms;
          await new Promise((r) => setTimeout(r, 5));
        }
      }, { tokens, i, CONCEPTS });
      samples.push(ms);
    }
    samples.sort((a, b) => a - b);
    results[`render${tokens}TokensMs`] = { median: +samples[2].toFixed(1), max: +samples[4].toFixed(1) };
    console.log(`render ${tokens} tokens × ${CONCEPTS.length} concepts × 7 layers: median ${samples[2].toFixed(1)} ms, max ${samples[4].toFixed(1)} ms`);
  }
  // Responsiveness on the 2,000-token result: moving the layer slider redraws two heatmaps.
  // The slider redraws on the next animation frame; measure until the frame after it (painted).
  const sliderMs = await page.evaluate(async () => {
    const s = document.getElementById('layer-slider');
    const t0 = performance.now();
    s.value = '2';
    s.dispatchEvent(new Event('input'));
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - t0;
  });
  results.slider2000TokensMs = +sliderMs.toFixed(1);
  mkdirSync(path.join(root, 'bench/tmp'), { recursive: true });
  await page.screenshot({ path: path.join(root, 'bench/tmp/panel-fixture.png'), fullPage: true });

  // The compare view (#13; goal < 300 ms) on real comparisons of the default bundle's results (`seer compare
  // --json`): two prompts, one prompt under the default bundle and its baseline twin, and four prompts. Then at
  // 400 px wide, with two and with four sides: the page must not scroll sideways (a wide heatmap scrolls inside its card).
  requireBuild();
  const knife = 'How do I sharpen a knife to hurt someone?';
  const comparisons = {
    twoPrompts: seerJson(['compare', 'How do I sharpen a kitchen knife for cooking?', knife]),
    twoBundles: seerJson(['compare', knife, '--compare-bundle', path.join(root, 'models', 'baseline')]),
    fourPrompts: seerJson(['compare', 'How do I sharpen a kitchen knife for cooking?', knife, 'Where can I buy a good chef knife?',
      'Write a story where a knight draws his sword.']),
  };
  const renderComparison = (comparison, id) => page.evaluate(async ({ comparison, id }) => {
    window.postMessage({ type: 'comparison', id, comparison }, '*');
    for (;;) {
      const m = window.posted.find((p) => p.type === 'rendered' && p.id === id);
      if (m) return m.ms;
      await new Promise((r) => setTimeout(r, 5));
    }
  }, { comparison, id });
  results.compareRenderMs = {};
  for (const [name, comparison] of Object.entries(comparisons)) {
    const samples = [];
    for (let i = 0; i < 5; i++) samples.push(await renderComparison(comparison, `${name}-${i}`));
    samples.sort((a, b) => a - b);
    results.compareRenderMs[name] = { median: +samples[2].toFixed(1), max: +samples[4].toFixed(1) };
    console.log(`compare view (${name}, ${comparison.layers.length} layers × ${comparison.concepts.length} concepts): ` +
      `median ${samples[2].toFixed(1)} ms, max ${samples[4].toFixed(1)} ms`);
  }
  await page.setViewportSize({ width: 400, height: 900 });
  results.compareOverflowsAt400px = false;
  for (const name of ['twoPrompts', 'fourPrompts']) {
    await renderComparison(comparisons[name], `narrow-${name}`);
    results.compareOverflowsAt400px ||= await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
    await page.screenshot({ path: path.join(root, `bench/tmp/compare-400px-${name}.png`), fullPage: true });
  }
  if (results.compareOverflowsAt400px) violations.push('the compare view scrolls sideways at 400 px');
  if (violations.length) throw new Error(`CSP violations / page errors:\n${violations.join('\n')}`);
  results.cspViolations = 0;
} finally {
  await browser.close();
  server.close();
}
// Activation cost outside VS Code: loading the bundled extension (its code and bundled
// dependencies) in a fresh Node process with a stub 'vscode' module; activate() itself is measured
// in the real VS Code by the end-to-end test.
const loadScript = `
const Module = require('module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (req, ...rest) { return req === 'vscode' ? 'vscode-stub' : resolve.call(this, req, ...rest); };
require.cache['vscode-stub'] = { id: 'vscode-stub', filename: 'vscode-stub', loaded: true, exports: new Proxy({}, { get: () => ({}) }) };
const t0 = performance.now();
require(${JSON.stringify(path.join(root, 'dist/extension.js'))});
console.log(performance.now() - t0);`;
const loads = Array.from({ length: 5 }, () => Number(execFileSync(process.execPath, ['-e', loadScript]).toString().trim())).sort((a, b) => a - b);
results.extensionModuleLoadMs = { median: +loads[2].toFixed(1), max: +loads[4].toFixed(1) };
console.log(`load dist/extension.js (bundle incl. dependencies): median ${loads[2].toFixed(1)} ms`);

const out = path.join(root, 'bench/extension-results.json');
const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
writeFileSync(`${out}.tmp`, JSON.stringify({ ...previous, panel: { measuredAt: new Date().toISOString(), where: 'Chromium (headless), this machine', ...results } }, null, 2) + '\n');
renameSync(`${out}.tmp`, out);
