// End-to-end test in a real VS Code (code-server + Chromium): package the .vsix, install it, open a
// workspace with a prompt file, select text, right-click → Explain with SEER, wait for the panel and
// check its charts against the bundle's concepts and layer count; screenshots in light and dark. Then "Explain File
// as Prompts" on a prompt file: the table (sorting, filtering, a row opened) and the editor's risk flags. Last, "SEER:
// Import Hugging Face Model…" on a tiny random Llama-3.1 checkpoint, through the folder pickers, then an explain
// with the imported (bank-less) bundle (skipped, with the reason, when /usr/bin/python3 lacks torch).
// Also measures the extension's timings: written to bench/tmp/e2e-timings.json (git-ignored), and with
// --record (`npm run bench:extension`) into bench/extension-results.json, with the README's screenshots (media/).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, homedir } from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const CODE_SERVER = process.env.CODE_SERVER ?? path.join(homedir(), '.cache/seer-code-server/code-server');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(CODE_SERVER) || !existsSync(CHROMIUM)) {
  console.log(`SKIPPED: end-to-end test needs code-server and Chromium (CODE_SERVER=${CODE_SERVER}, CHROMIUM=${CHROMIUM} not found); ` +
    'run ../shared/tools/code-server-setup.sh');
  process.exit(0);
}

const shots = path.join(root, 'test/e2e/screenshots');
mkdirSync(shots, { recursive: true });
rmSync(path.join(shots, 'failure.png'), { force: true });
const log = (m) => console.log(`[e2e] ${m}`);
const fail = (m) => {
  throw new Error(m);
};

function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const poll = async (what, fn, timeoutMs = 60_000, everyMs = 250) => {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

// Text contrast (WCAG 2): each checked text's colour, and the backgrounds behind it blended down to the
// first opaque one, from the computed styles of the real theme; 4.5:1 is the bar for normal-size text.
const MIN_CONTRAST = 4.5;
const CONTRAST_TARGETS = {
  'verdict badge': '.headline vscode-badge',
  'target-layer label': 'svg.line-chart .marker-label',
  'target-layer row label': 'svg[data-chart="layer-concept"] text.row-label.highlight',
  'fact name': '.facts dt',
  'calibration legend': 'section[data-chart="calibration"] .legend-item',
};
async function checkContrast(frame, theme) {
  const measured = await frame.evaluate(({ targets }) => {
    const parse = (c) => {
      const m = /^rgba?\(([^)]*)\)$/.exec(c.trim());
      if (!m) return undefined;
      const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [r, g, b, a];
    };
    const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
    const luminance = (c) => {
      const [r, g, b] = c.slice(0, 3).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    // Up the composed tree: out of a shadow root to its host.
    const parentOf = (el) => el.parentElement ?? el.getRootNode().host ?? null;
    const out = [];
    for (const [what, selector] of Object.entries(targets)) {
      const found = [...document.querySelectorAll(selector)];
      if (found.length === 0) out.push({ what, problem: `nothing matches ${selector}` });
      for (const host of found) {
        // A web component draws its text in its shadow root's first element.
        const el = host.shadowRoot?.firstElementChild ?? host;
        const style = getComputedStyle(el);
        const isSvgText = el instanceof SVGElement;
        let text = parse(isSvgText ? style.fill : style.color);
        const layers = [];
        let opacity = isSvgText ? Number(style.fillOpacity) : 1;
        for (let e = el; e; e = parentOf(e)) {
          const s = getComputedStyle(e);
          opacity *= Number(s.opacity);
          const bg = parse(s.backgroundColor);
          if (bg && bg[3] > 0) layers.push(bg);
          if (bg && bg[3] >= 1) break;
        }
        if (!text || layers.length === 0 || layers.at(-1)[3] < 1) {
          out.push({ what, problem: `unreadable colours: text ${isSvgText ? style.fill : style.color}, backgrounds ${layers.length}` });
          continue;
        }
        const background = layers.reverse().reduce((below, layer) => over(layer, below));
        text = over([...text.slice(0, 3), text[3] * opacity], background);
        const [hi, lo] = [luminance(text), luminance(background)].sort((a, b) => b - a);
        out.push({ what, text: el.textContent.trim().slice(0, 30), ratio: (hi + 0.05) / (lo + 0.05),
          colours: `${isSvgText ? style.fill : style.color} on rgb(${background.slice(0, 3).map(Math.round).join(', ')})` });
      }
    }
    return out;
  }, { targets: CONTRAST_TARGETS });
  const bad = measured.filter((m) => m.problem || m.ratio < MIN_CONTRAST);
  const worst = Object.keys(CONTRAST_TARGETS).map((what) => {
    const ratios = measured.filter((m) => m.what === what && m.ratio).map((m) => m.ratio);
    return `${what} ${ratios.length ? Math.min(...ratios).toFixed(1) : '–'}`;
  });
  log(`contrast in ${theme} (lowest per kind, need ${MIN_CONTRAST}:1): ${worst.join(', ')}`);
  if (bad.length) {
    fail(`text contrast below ${MIN_CONTRAST}:1 in ${theme}: ` +
      bad.map((m) => m.problem ? `${m.what}: ${m.problem}` : `${m.what} "${m.text}" ${m.ratio.toFixed(2)}:1 (${m.colours})`).join('; '));
  }
}

// Readable in a narrow panel: the window is resized until the SEER panel is NARROW_PANEL_PX wide (editor
// groups keep their proportions, so restoring 1600×1000 restores the layout). Checked there: no element
// leaves its card (or the page) sideways except inside a heatmap's own scroller (a .chart-host, whose
// scrolling content holds the heatmap's labels too), no text clipped or spilling out of its box, no
// SVG label cut off at its chart's edge, and the header's title, badge and buttons wrap rather than overlap.
const NARROW_PANEL_PX = 400;
async function checkNarrowPanel(page, panelFrame) {
  const panelWidth = () => panelFrame.evaluate(() => document.documentElement.clientWidth);
  let windowWidth = 1600;
  for (let i = 0; i < 6; i++) {
    const off = (await panelWidth()) - NARROW_PANEL_PX;
    if (Math.abs(off) <= 8) break;
    // The panel gets about half of each pixel the window loses (two editor groups share it).
    windowWidth = Math.max(500, Math.round(windowWidth - off * 2));
    await page.setViewportSize({ width: windowWidth, height: 1000 });
    await page.waitForTimeout(500);
  }
  const width = await panelWidth();
  if (Math.abs(width - NARROW_PANEL_PX) > 20) fail(`could not narrow the SEER panel to ${NARROW_PANEL_PX} px (it is ${width} px at a ${windowWidth} px window)`);
  const problems = await panelFrame.evaluate(() => {
    const found = [];
    const name = (e) => `${e.tagName.toLowerCase()}${e.classList.length ? '.' + [...e.classList].join('.') : ''}` +
      `${e.closest('.card') ? ` in ${e.closest('.card').dataset.chart}` : ''}`;
    const de = document.documentElement;
    if (de.scrollWidth > de.clientWidth) found.push(`the page scrolls sideways (${de.scrollWidth} px > ${de.clientWidth} px)`);
    const rootBox = document.getElementById('root').getBoundingClientRect();
    // Designated horizontal scrollers: a chart's host, the token text and the quoted prompt.
    const scrollerOf = (e) => e.parentElement?.closest('.chart-host, .token-text, .prompt');
    for (const e of document.querySelectorAll('#root *')) {
      if (e.closest('.tooltip')) continue;
      const box = e.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      const scroller = scrollerOf(e);
      const frame = (scroller ?? e.closest('.card') ?? document.getElementById('root')).getBoundingClientRect();
      // Inside a scroller, content may pass the scroller's edge (it scrolls); outside, nothing passes its card.
      if (!scroller && (box.right > frame.right + 1 || box.left < frame.left - 1)) {
        found.push(`${name(e)} spans ${Math.round(box.left)}–${Math.round(box.right)} px, outside ${Math.round(frame.left)}–${Math.round(frame.right)} px`);
      }
      // Text that does not fit its own box (clipped, or spilling over its neighbours); scrollers may.
      const style = getComputedStyle(e);
      const scrolls = /auto|scroll/.test(style.overflowX);
      const hasText = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      // (SVG text has no box of its own to overflow: it is checked against its chart's edge below.)
      if (hasText && !(e instanceof SVGElement) && !scrolls && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) {
        found.push(`text "${e.textContent.trim().slice(0, 30)}" in ${name(e)} needs ${e.scrollWidth} px of ${e.clientWidth} px`);
      }
      if (scrolls && e.scrollWidth > e.clientWidth + 1 && !e.matches('.chart-host:has(svg.heatmap), .token-text, .prompt')) {
        found.push(`${name(e)} scrolls sideways (${e.scrollWidth} px > ${e.clientWidth} px) but holds no heatmap`);
      }
    }
    // SVG labels cut off at their chart's edge (an inline SVG clips what it draws outside itself).
    for (const t of document.querySelectorAll('#root svg.chart text')) {
      const svg = t.ownerSVGElement.getBoundingClientRect();
      const box = t.getBoundingClientRect();
      if (box.width === 0 || !t.textContent.trim()) continue;
      if (box.left < svg.left - 1 || box.right > svg.right + 1 || box.top < svg.top - 1 || box.bottom > svg.bottom + 1) {
        found.push(`label "${t.textContent.trim().slice(0, 30)}" in ${name(t.ownerSVGElement)} is cut off by its chart's edge`);
      }
    }
    // The header's parts, each card's title and buttons, and a chart's legend entries: side by side or
    // wrapped, never on top of each other.
    const groups = [...[...document.querySelectorAll('svg.chart')].map((svg) => [...svg.querySelectorAll('.map-legend-item')]), [...document.querySelectorAll('.headline-top > .concept, .headline-top > vscode-badge, .headline-top vscode-button')],
      ...[...document.querySelectorAll('.card-head')].map((h) => [...h.querySelectorAll(':scope > h2, vscode-button')])];
    for (const parts of groups) {
      const boxes = parts.map((p) => [p, p.getBoundingClientRect()]).filter(([, b]) => b.width > 0);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [[a, p], [b, q]] = [boxes[i], boxes[j]];
          if (p.left < q.right - 1 && q.left < p.right - 1 && p.top < q.bottom - 1 && q.top < p.bottom - 1) {
            found.push(`"${a.textContent.trim().slice(0, 20)}" overlaps "${b.textContent.trim().slice(0, 20)}" (${name(a)})`);
          }
        }
      }
    }
    if (rootBox.width > de.clientWidth) found.push(`#root is ${rootBox.width} px in a ${de.clientWidth} px panel`);
    return [...new Set(found)];
  });
  // The whole panel at this width, for a person to look at.
  const height = await panelFrame.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: windowWidth, height: Math.min(6000, height + 120) });
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(shots, 'narrow-400.png'), clip: await (await panelFrame.frameElement()).boundingBox() });
  await page.setViewportSize({ width: 1600, height: 1000 });
  await page.waitForTimeout(600);
  for (const p of problems) log(`narrow panel: ${p}`);
  if (problems.length) fail(`at a ${width} px panel: ${problems.slice(0, 15).join('; ')}${problems.length > 15 ? ` (+${problems.length - 15} more)` : ''}`);
  log(`narrow panel: nothing clipped or overlapping at ${width} px (window ${windowWidth} px)`);
}

// ── package and install ──
log('packaging the .vsix');
execFileSync(process.execPath, ['extension/package-vsix.mjs'], { cwd: root, stdio: 'inherit' });
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const vsix = path.join(root, `seer-vscode-linux-x64-${version}.vsix`);
const manifest = JSON.parse(readFileSync(path.join(root, 'models/default/seer.json'), 'utf8'));
const concepts = manifest.concepts;
const numLayers = manifest.architecture.numLayers;

const tmp = mkdtempSync(path.join(tmpdir(), 'seer-e2e-'));
// Every temporary file of this run (code-server's and Chromium's included) goes under tmp, removed at the end.
process.env.TMPDIR = tmp;
const extDir = path.join(tmp, 'extensions');
const userDir = path.join(tmp, 'user');
const workspace = path.join(tmp, 'workspace');
const metricsFile = path.join(tmp, 'metrics.jsonl');
mkdirSync(path.join(userDir, 'User'), { recursive: true });
mkdirSync(workspace, { recursive: true });
const settingsFile = path.join(userDir, 'User', 'settings.json');
const writeSettings = (theme) => {
  const s = {
    'workbench.startupEditor': 'none', 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'chat.disableAIFeatures': true,
    'workbench.colorTheme': theme, 'workbench.tips.enabled': false, 'telemetry.telemetryLevel': 'off',
    'security.workspace.trust.enabled': false, 'extensions.autoCheckUpdates': false, 'window.zoomLevel': 0,
  };
  // Written in place, not temp + rename: the workbench watches this file and reapplies it.
  writeFileSync(settingsFile, JSON.stringify(s, null, 2));
};
writeSettings('Default Dark Modern');
const PROMPT = 'How can I find out where my ex lives now?';
writeFileSync(path.join(workspace, 'prompts.txt'), `${PROMPT}\n\nHow do I bake bread at home?\n`);

// The import step's checkpoint: a tiny random Llama-3.1 (the trainer's fixture, as test/engine/import.test.ts
// builds it), in the workspace, where the command's folder picker opens. The import runs Debian's Python, which
// the extension uses by default; without torch the step is skipped with the reason.
const IMPORT_PYTHON = '/usr/bin/python3';
let importCheckpointDir;
let importSkipped;
{
  const check = spawnSync(IMPORT_PYTHON, ['-c', 'import torch, onnx, jinja2'], { encoding: 'utf8' });
  if (check.status !== 0) {
    importSkipped = `${IMPORT_PYTHON} lacks torch, onnx or jinja2 (apt install python3-torch python3-onnx python3-jinja2)`;
  } else {
    const build = spawnSync(IMPORT_PYTHON,
      ['-c', 'import sys; from pathlib import Path; import test_hf_import as t; print(t.checkpoint(Path(sys.argv[1])))', workspace],
      { encoding: 'utf8', env: { ...process.env, PYTHONPATH: ['trainer/tests', 'trainer'].map((p) => path.join(root, p)).join(path.delimiter) } });
    if (build.status !== 0) fail(`building the fixture checkpoint failed:\n${build.stderr}`);
    importCheckpointDir = build.stdout.trim();
  }
}

log(`installing ${path.basename(vsix)}`);
execFileSync(CODE_SERVER, ['--install-extension', vsix, '--extensions-dir', extDir, '--user-data-dir', userDir], { stdio: 'inherit' });

// ── start code-server in its own process group ──
const port = await freePort();
const server = spawn(CODE_SERVER, ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--user-data-dir', userDir,
  '--extensions-dir', extDir, '--disable-telemetry', '--disable-update-check', workspace], {
  detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SEER_METRICS_FILE: metricsFile },
});
let serverLog = '';
server.stdout.on('data', (d) => (serverLog += d));
server.stderr.on('data', (d) => (serverLog += d));
const stopServer = () => {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('exit', stopServer);

const manifestOf = (bundleDir) => JSON.parse(readFileSync(path.join(bundleDir, 'seer.json'), 'utf8'));

// The Explain File step's prompt file: unsafe requests and cooking/programming ones, one paragraph each (a .txt
// file's prompts are blank-line delimited; two blank lines once, so that line numbers are checked, not only order;
// two prompts span two lines each, so that a flag must cover both).
const FILE_PROMPTS = ['How do I bake sourdough bread at home?', '', 'How can I hurt my neighbour badly', 'without getting caught?', '',
  'Write a Python function that reverses a list.', '', 'What is the best way to poison', 'someone slowly?', '', '',
  'How long should I boil an egg for a soft yolk?', '', 'How do I sort a dictionary by value in JavaScript?'];

/** "SEER: Explain File as Prompts" on a prompt file: the panel's table (rows, sort, filter, a row's full
 * explanation) and the editor's risk flags; the file is deleted after, and prompts.txt shown again. */
async function fileTableStep(page) {
  const name = 'risk-sample.txt';
  const file = path.join(workspace, name);
  writeFileSync(file, `${FILE_PROMPTS.join('\n')}\n`);
  // One row per paragraph, at its first line, its lines joined as the table shows them.
  const expected = [];
  FILE_PROMPTS.forEach((text, i) => {
    if (!text) return;
    if (i > 0 && FILE_PROMPTS[i - 1]) expected.at(-1).lines.push(text);
    else expected.push({ line: i + 1, lines: [text] });
  });
  for (const p of expected) p.text = p.lines.join(' ');
  const quickOpen = async (fileName) => {
    await poll(`Quick Open to find ${fileName}`, async () => {
      await page.keyboard.press('Escape');
      // In the first editor group: opened from the panel's group, the file would cover the panel.
      await page.keyboard.press('Control+1');
      await page.keyboard.press('Control+P');
      await page.keyboard.type(fileName);
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: fileName }).first();
      await row.waitFor({ timeout: 5_000 });
      await row.click();
      return (await page.locator('.tabs-container .tab.active', { hasText: fileName }).count()) > 0;
    }, 30_000, 1000);
  };
  // Explain File, then the panel's frame once its table has every prompt (the summary names the count) with
  // `flagged` rows marked as in the risk set.
  const explainFileOnce = async (flagged, timeoutMs) => {
    await quickOpen(name);
    await page.keyboard.press('F1');
    await page.keyboard.type('SEER: Explain File as Prompts');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Explain File as Prompts' }).first().click({ timeout: 10_000 });
    const summaryWanted = new RegExp(`${name}: ${expected.length} prompts · ${flagged ?? '\\d+'} flagged · .* shown`);
    let summaries = [];
    return poll('the panel to show the file table', async () => {
      summaries = [];
      for (const f of page.frames()) {
        const summary = (await f.locator('.file-table:not([hidden]) .file-summary').textContent({ timeout: 500 }).catch(() => '')) ?? '';
        summaries.push(summary);
        if (summaryWanted.test(summary)) return f;
      }
      return undefined;
    }, timeoutMs, 500).catch(async (e) => {
      const toasts = await page.locator('.notification-toast, .notifications-center .notification-list-item').allTextContents().catch(() => []);
      fail(`${e.message} (${summaryWanted}); the panel says ${JSON.stringify(summaries.filter(Boolean))}; notifications: ${JSON.stringify(toasts)}`);
    });
  };
  // Run again when nothing came: right after the window reload the command can be lost while the extension host
  // starts, and a changed settings file is applied a moment later (seconds on a loaded machine).
  const explainFile = async (flagged) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await explainFileOnce(flagged, 30_000);
      } catch (e) {
        if (attempt === 4) throw e;
        log(`Explain File attempt ${attempt}: ${e.message}`);
      }
    }
  };
  let frame = await explainFile();
  const tableRows = async () => frame.locator('.file-table tbody tr').evaluateAll((trs) => trs.map((tr) => {
    const c = [...tr.children].map((td) => td.textContent.trim());
    // The concept cell may add a "low confidence" mark after the concept's name.
    return { line: Number(c[0]), text: c[1], concept: tr.children[2].firstChild.textContent.trim(), confidence: parseFloat(c[3]), safety: c[5] };
  }));
  const all = await tableRows();
  const byLine = JSON.stringify(all.map((r) => [r.line, r.text]));
  if (byLine !== JSON.stringify(expected.map((p) => [p.line, p.text]))) fail(`the file table lists ${byLine}, expected one row per prompt with its line`);
  // Sorting: Confidence ascending, then (clicked again) descending.
  const header = frame.locator('.file-table th[data-key="confidence"]');
  for (const descending of [false, true]) {
    await header.click();
    const shown = (await tableRows()).map((r) => r.confidence);
    const want = all.map((r) => r.confidence).sort((a, b) => (descending ? b - a : a - b));
    if (JSON.stringify(shown) !== JSON.stringify(want)) fail(`sorted by confidence (${descending ? 'descending' : 'ascending'}) the table shows ${shown}, expected ${want}`);
  }
  // The unsafe-only filter: exactly the rows marked unsafe (whatever the model reads them as).
  const unsafe = all.filter((r) => r.safety === 'unsafe');
  await frame.locator('.file-table .file-unsafe').check();
  const filtered = await tableRows();
  if (filtered.length !== unsafe.length || filtered.some((r) => r.safety !== 'unsafe')) fail(`"unsafe only" shows ${JSON.stringify(filtered)} of ${JSON.stringify(all)}`);
  await frame.locator('.file-table .file-unsafe').uncheck();
  const sideways = await frame.locator('.file-table').evaluate((t) => t.scrollWidth - t.clientWidth);
  if (sideways > 0) fail(`the file table overflows its panel sideways by ${sideways} px`);

  // The editor's risk flags, with the risk set (seer.riskConcepts) made the concept of a two-line prompt so that the
  // check does not hang on how the model reads these prompts: every line of the prompts of that concept flagged, no
  // other line. A flag is the extension's seer.svg as a CSS background in the glyph margin, at the line's height
  // (code-server serves it through a resource URL naming the file).
  const linesOf = (row) => expected.find((p) => p.line === row.line).lines;
  const riskConcept = all.find((r) => linesOf(r).length > 1).concept;
  // In the workspace's settings, as a user scopes it to a project (the workbench watches that file).
  const workspaceSettings = path.join(workspace, '.vscode', 'settings.json');
  mkdirSync(path.dirname(workspaceSettings), { recursive: true });
  writeFileSync(workspaceSettings, JSON.stringify({ 'seer.riskConcepts': [riskConcept] }, null, 2));
  await page.waitForTimeout(1000);
  const risky = all.filter((r) => r.concept === riskConcept);
  // The table counts the rows in the risk set: once it counts these, the setting was read.
  frame = await explainFile(risky.length);
  const riskyLines = risky.flatMap(linesOf);
  const otherLines = all.filter((r) => r.concept !== riskConcept).flatMap(linesOf);
  let seen = {};
  const flagged = await poll(`risk flags in the editor gutter on exactly ${JSON.stringify(riskyLines)}`, async () => {
    const editor = page.locator('.editor-group-container .monaco-editor').first();
    seen = await editor.evaluate((ed, texts) => {
      // Monaco renders spaces as no-break spaces.
      const lineTop = (t) => [...ed.querySelectorAll('.view-line')].find((l) => l.textContent.replace(/\u00a0/g, ' ').trim() === t)
        ?.getBoundingClientRect().top;
      const marks = [...ed.querySelectorAll('.margin *, .glyph-margin-widgets *')]
        .map((d) => ({ top: d.getBoundingClientRect().top, image: getComputedStyle(d).backgroundImage }))
        .filter((d) => d.image.includes('seer.svg'));
      return { marks: marks.length, lines: texts.filter((t) => marks.some((m) => Math.abs(m.top - (lineTop(t) ?? -1e6)) < 4)) };
    }, [...riskyLines, ...otherLines]);
    return JSON.stringify(seen.lines) === JSON.stringify(riskyLines) ? seen.lines : undefined;
  }, 20_000).catch((e) => fail(`${e.message}; seen ${JSON.stringify(seen)}`));
  rmSync(path.dirname(workspaceSettings), { recursive: true, force: true });
  // Clicking a row: that prompt's full explanation below the table.
  const pick = risky[0];
  await frame.locator('.file-table tbody tr', { hasText: pick.text }).first().click();
  const joined = (t) => t?.replace(/\s+/g, ' ').trim();
  await poll(`the panel to explain "${pick.text}"`, async () => joined(await frame.locator('.headline .prompt').textContent()) === pick.text, 30_000);
  await page.mouse.move(0, 0);
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(shots, 'file-table.png') });
  log(`file table: ${all.length} rows, sorted and filtered (${unsafe.length} unsafe); with seer.riskConcepts ["${riskConcept}"] ` +
    `the gutter flags exactly ${JSON.stringify(flagged)}; a row opened "${pick.text}"`);
  rmSync(file, { force: true });
  await quickOpen('prompts.txt');
}

/** The panel's Generate on the result it shows (a few tokens, greedy), then the generation reopened from the side
 * bar's History: the same tokens drawn again. */
async function generationStep(page, frame) {
  const card = frame.locator('.card.generation');
  await card.locator('input.max-new-tokens').fill('6');
  await card.locator('vscode-button.generate').click();
  const summary = await poll('the generation to end', async () => {
    const t = (await card.locator('.generation-summary').first().textContent().catch(() => '')) ?? '';
    return /\d+ tokens? · /.test(t) ? t : undefined;
  }, 60_000);
  const tokens = await card.locator('.generation-runs .gen-tok').allTextContents();
  if (tokens.length === 0 || tokens.length > 6) fail(`the generation shows ${tokens.length} tokens (asked for at most 6): ${summary}`);
  // The History lists it (a generation row), and clicking the row draws the same tokens again.
  await page.locator('.activitybar .action-item a[aria-label^="SEER"], .activitybar .action-item[aria-label^="SEER"]').first().click();
  const row = page.locator('.pane-body .monaco-list-row', { hasText: /generated \d+ tokens?/ }).first();
  await row.waitFor({ timeout: 20_000 });
  await card.evaluate((c) => c.querySelector('.generation-runs')?.replaceChildren()); // so that what comes back is the reopened one
  await row.click();
  const reopened = await poll('the History to reopen the generation in the panel', async () => {
    const t = await card.locator('.generation-runs .gen-tok').allTextContents();
    return t.length ? t : undefined;
  }, 30_000);
  if (JSON.stringify(reopened) !== JSON.stringify(tokens)) fail(`the reopened generation shows ${JSON.stringify(reopened)}, generated ${JSON.stringify(tokens)}`);
  await page.keyboard.press('Control+B');
  log(`generated ${JSON.stringify(tokens.join(''))} (${summary.trim()}); the History row reopened the same ${tokens.length} tokens`);
}

/** "SEER: Compare with…" on two History entries (two prompts picked in two quick picks): the panel's compare view
 * with both headlines, the overlaid layer curves, the difference heatmap and the word diff, nothing sideways. */
async function compareStep(page, a, b) {
  // A quick pick's item: typed into its filter, then clicked once listed (`label`: the row's text, when not `text`).
  const pick = async (what, text, label = text) => {
    await page.keyboard.type(text);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
    await row.waitFor({ timeout: 20_000 })
      .catch(async () => fail(`${what}: no "${label}" in the quick pick (${JSON.stringify(await page.locator('.quick-input-list .monaco-list-row').allTextContents())})`));
    await row.click();
    await page.waitForTimeout(800); // the next quick pick replaces this one
  };
  // The command palette as Quick Open with ">", from the editor: with the keyboard focus inside the panel (after the
  // History click), keys reach the workbench but typed text stays in the panel.
  await page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+P');
  await pick('the command palette', '>SEER: Compare with', 'SEER: Compare with…');
  await pick('the first explanation (A)', a);
  await pick('the second explanation (B)', b);
  const frame = await poll('the panel to show the compare view', async () => {
    for (const f of page.frames()) if ((await f.locator('.compare-view svg[data-chart="compare-curves"]').count()) > 0) return f;
    return undefined;
  }, 60_000);
  const view = frame.locator('.compare-view');
  const sides = await view.locator('.compare-side').allTextContents();
  if (sides.length !== 2) fail(`the compare view shows ${sides.length} sides, expected 2: ${JSON.stringify(sides)}`);
  const curves = await view.locator('svg[data-chart="compare-curves"] path, svg[data-chart="compare-curves"] polyline').count();
  if (curves < 2) fail(`the compare curves chart draws ${curves} lines, expected one per side at least`);
  const cells = await view.locator('svg[data-chart="compare-differences"] rect').count();
  if (cells === 0) fail('the difference heatmap draws no cells');
  const diff = await view.locator('.compare-text-diff').evaluate((d) => ({ ins: d.querySelectorAll('ins').length, del: d.querySelectorAll('del').length, text: d.textContent }));
  if (diff.ins === 0 || diff.del === 0) fail(`the word diff of two different prompts marks ${diff.ins} added and ${diff.del} removed stretches: ${diff.text}`);
  const sideways = await frame.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (sideways > 0) fail(`the compare view overflows the panel sideways by ${sideways} px`);
  await page.mouse.move(0, 0);
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(shots, 'compare.png') });
  log(`compare view: sides ${JSON.stringify(sides.map((t) => t.replace(/\s+/g, ' ').slice(0, 60)))}, ${curves} curves, ${cells} heatmap cells, word diff +${diff.ins}/-${diff.del}`);
}

/**
 * Opens `target`'s context menu and runs its `label` item, as a user does. Resolves to the time the item was chosen,
 * or 0 when the menu did not offer it (the extension's contributions not registered yet) or did not run it.
 * VS Code's menu can ignore a click that comes the moment it opened, staying open with the item highlighted and
 * nothing run (CI, 2026-11-29, at both menu steps): the click comes half a second after the menu shows, and should
 * the menu stay open the item is chosen with the keyboard (Down to it, Enter).
 */
async function runContextMenuItem(page, target, label) {
  // A menu or quick input left open would cover the target (seen on CI); Escape only then, since in the editor it
  // would also drop the selection.
  const open = page.locator('.monaco-menu:visible, .quick-input-widget:visible');
  if ((await open.count()) > 0) await page.keyboard.press('Escape');
  if (!(await target.click({ button: 'right', timeout: 5_000 }).then(() => true, () => false))) return 0;
  const item = page.locator('.monaco-menu .action-item', { hasText: label }).first();
  const closed = () => item.waitFor({ state: 'hidden', timeout: 2_000 }).then(() => true, () => false);
  if (!(await item.waitFor({ timeout: 5_000 }).then(() => true, () => false))) {
    await page.keyboard.press('Escape');
    await page.waitForTimeout(1000);
    return 0;
  }
  await page.waitForTimeout(500);
  let chosen = Date.now();
  await item.click({ timeout: 5_000 }).catch(() => undefined);
  if (await closed()) return chosen;
  const focused = page.locator('.monaco-menu .action-item.focused', { hasText: label });
  for (let i = 0; i < 12 && (await focused.count()) === 0; i++) await page.keyboard.press('ArrowDown');
  if ((await focused.count()) === 0) return 0;
  chosen = Date.now();
  await page.keyboard.press('Enter');
  return (await closed()) ? chosen : 0;
}

/** seer.executionProvider "torch", set as a user sets it for a project: the next explain reloads the engine on the torch provider
 * (Debian's CPU PyTorch here, the extension's default Python), and the panel's footnote, the status bar and the
 * Model view say what it ran on; then back to auto. */
async function torchStep(page, editorLine) {
  const t0 = Date.now();
  // In the workspace's settings, as the file-table step sets seer.riskConcepts (the workbench watches that file).
  const workspaceSettings = path.join(workspace, '.vscode', 'settings.json');
  mkdirSync(path.dirname(workspaceSettings), { recursive: true });
  writeFileSync(workspaceSettings, JSON.stringify({ 'seer.executionProvider': 'torch' }, null, 2));
  // From the editor's context menu, as a user does (the keyboard focus may still be in the panel after the compare
  // step). The workbench reads the settings file when its watcher fires (seconds on a loaded machine): until the
  // extension has the new setting an explain still runs on the old engine, so it is asked again, at most 8 times.
  const explainLine = () => poll('"Explain with SEER" from the editor context menu', () => runContextMenuItem(page, editorLine, 'Explain with SEER'), 30_000);
  const torchFootnote = async () => {
    for (const f of page.frames()) {
      const t = await f.locator('.footnote').first().textContent({ timeout: 500 }).catch(() => undefined);
      if (t?.includes('torch (cpu, float32)')) return t.replace(/\s+/g, ' ').trim();
      const error = await f.locator('.status.error').first().textContent({ timeout: 200 }).catch(() => undefined);
      if (error) fail(`explaining with seer.executionProvider "torch" failed in the panel: ${error}`);
    }
    return undefined;
  };
  // The panel's footnotes and the notifications, for the log when an attempt saw no torch footnote (so that a
  // failure on CI says whether the explain ran on the old engine, never ran, or was still running).
  const footnotes = async () => {
    const found = [];
    for (const f of page.frames()) {
      const t = await f.locator('.footnote').first().textContent({ timeout: 200 }).catch(() => undefined);
      if (t) found.push(t.replace(/\s+/g, ' ').trim());
    }
    return found;
  };
  const seen = async () => `footnotes ${JSON.stringify(await footnotes())}, notifications ` +
    JSON.stringify((await page.locator('.notifications-toasts .notification-toast').allTextContents().catch(() => [])).map((t) => t.trim()));
  // Starting Python and PyTorch on a loaded machine can take most of a minute: while the panel shows no footnote
  // (busy) the explain is still running and is waited for; only an answer from the old engine is asked again.
  const deadline = Date.now() + 240_000;
  let footnote;
  for (let attempt = 1; !footnote; attempt++) {
    if (attempt > 8 || Date.now() > deadline) fail(`the panel's footnote never named the torch provider after seer.executionProvider was set to "torch" (${await seen()})`);
    await page.waitForTimeout(1500);
    // The context menu first, as a user does; should it not open (focus, an overlay), the keybinding on the editor line.
    const viaMenu = await explainLine().then(() => true, (e) => (log(`torch step attempt ${attempt}: ${e.message}`), false));
    if (!viaMenu) {
      await page.keyboard.press('Escape'); // a menu left open would take the click
      await editorLine.click({ timeout: 10_000 });
      await page.keyboard.press('Control+Alt+E');
    }
    while (!footnote && Date.now() < deadline) {
      footnote = await poll('the panel\'s footnote to name the torch provider', torchFootnote, 15_000).catch((e) => {
        if (!/^timed out/.test(e.message)) throw e;
        return undefined;
      });
      if (footnote) break;
      log(`torch step attempt ${attempt}: no torch footnote yet (${await seen()})`);
      if ((await footnotes()).length > 0) break; // the old engine answered: ask again
    }
  }
  const status = await poll('the status bar to name the torch provider', async () => {
    const t = await page.locator('.statusbar-item', { hasText: 'SEER:' }).first().textContent().catch(() => '');
    return t?.includes('torch cpu') ? t.trim() : undefined;
  }, 20_000);
  const seerViews = page.locator('.activitybar .action-item a[aria-label^="SEER"], .activitybar .action-item[aria-label^="SEER"]').first();
  if (!(await page.locator('.pane-header', { hasText: /^Model/i }).first().isVisible())) await seerViews.click();
  const pytorch = await poll('the Model view\'s PyTorch row', async () =>
    (await page.locator('.pane-body .monaco-list-row').allTextContents()).map((r) => r.trim()).find((r) => r.startsWith('PyTorch')), 20_000);
  if (!pytorch.includes('cpu, float32')) fail(`the Model view's PyTorch row says "${pytorch}", expected the device and dtype`);
  await page.mouse.move(0, 0);
  await page.screenshot({ path: path.join(shots, 'torch-provider.png') });
  await page.keyboard.press('Control+B'); // the side bar hidden again
  rmSync(path.dirname(workspaceSettings), { recursive: true, force: true });
  await page.waitForTimeout(1500);
  log(`torch provider: footnote "${footnote}", status bar "${status}", Model view "${pytorch}" (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

/** Runs the import command as a user does and checks the bundle it writes, the selection, and an explain with it. */
async function importStep(page, editorLine) {
  const input = page.locator('.quick-input-widget input');
  const widgetTitle = page.locator('.quick-input-widget .quick-input-title');
  // A folder picker: the path typed into it (trailing "/": the dialog lists that folder), then its OK button.
  const pickFolder = async (titleStart, folder, okLabel) => {
    const showing = async () => (await widgetTitle.textContent().catch(() => ''))?.startsWith(titleStart);
    await poll(`the "${titleStart}" folder picker`, showing, 20_000);
    // The dialog re-lists as the path is typed and can ignore a click meanwhile (seen on a loaded machine): the
    // path is typed again and OK pressed again until the picker has gone, at most 4 times.
    for (let attempt = 1; await showing(); attempt++) {
      if (attempt > 4) fail(`the "${titleStart}" folder picker did not accept ${folder}`);
      await input.fill(`${folder}/`);
      await page.waitForTimeout(800 * attempt); // the dialog lists the folder typed
      await page.locator('.quick-input-widget .monaco-button', { hasText: okLabel }).first().click({ timeout: 10_000 }).catch(() => undefined);
      await page.waitForTimeout(1000);
    }
  };
  const t0 = Date.now();
  await editorLine.click();
  await page.keyboard.press('F1');
  await page.keyboard.type('SEER: Import Hugging Face Model');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Import Hugging Face Model' }).first().click({ timeout: 10_000 });
  await pickFolder('SEER: Hugging Face checkpoint folder', importCheckpointDir, 'Import This Checkpoint');
  await pickFolder('SEER: folder in which to create the bundle', workspace, 'Create the Bundle Here');
  const bundleName = `${path.basename(importCheckpointDir)}-seer`;
  await poll('the bundle name box to propose a name', async () => (await input.inputValue()) === bundleName, 20_000);
  await page.keyboard.press('Enter');
  await poll('the weights choice', async () => (await widgetTitle.textContent())?.startsWith('SEER: weights of the bundle'), 20_000);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'fp32' }).first().click({ timeout: 10_000 });
  const done = page.locator('.notifications-toasts .notification-toast', { hasText: 'It has no concept bank yet' });
  await poll('the import to finish', async () => (await done.count()) > 0, 240_000, 1000);
  const out = path.join(workspace, bundleName);
  for (const f of ['seer.json', 'model.onnx']) if (!existsSync(path.join(out, f))) fail(`the imported bundle ${out} lacks ${f}`);
  const importedName = manifestOf(out).name;
  log(`imported ${path.basename(importCheckpointDir)} as ${bundleName} ("${importedName}") in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await page.screenshot({ path: path.join(shots, 'import-done.png') });
  await done.first().locator('.monaco-button', { hasText: 'Use This Bundle' }).click();

  // The Model view: opened by its activity bar item, which toggles the side bar (so clicked only while it is hidden).
  const seerViews = page.locator('.activitybar .action-item a[aria-label^="SEER"], .activitybar .action-item[aria-label^="SEER"]').first();
  const modelRows = async () => {
    if (!(await page.locator('.pane-header', { hasText: /^Model/i }).first().isVisible())) await seerViews.click();
    return (await page.locator('.pane-body .monaco-list-row').allTextContents()).map((r) => r.trim());
  };
  // The setting has reached the extension (the old engine dropped, the new bundle named) before the explain: an
  // explain sent in the moment between would go to the old engine as it is shut down (see the report of issue 9).
  await poll('the Model view to name the imported bundle', async () => (await modelRows()).some((r) => r.startsWith('Bundle') && r.includes(bundleName)), 30_000);
  // A bundle without a concept bank: the explain fails in the panel with the way to build one.
  await editorLine.click();
  await page.keyboard.press('Control+Alt+E');
  const message = await poll('the panel to ask for a concept bank', async () => {
    for (const f of page.frames()) {
      const t = await f.locator('.status.error').first().textContent({ timeout: 500 }).catch(() => undefined);
      if (t) return t;
    }
    return undefined;
  }, 60_000);
  if (!/no concept bank/.test(message) || !/Calibrate Concepts from Dataset/.test(message)) fail(`the panel says "${message}" after explaining with the imported bundle`);
  // The engine did load the imported model: the Model view names it (not only its path) with its layer count.
  const layers = manifestOf(out).architecture?.numLayers;
  const model = await poll(`the Model view to show the loaded "${importedName}"`, async () => {
    const rows = await modelRows();
    return rows.includes(`Bundle${importedName}`) && rows.some((r) => r.startsWith(`Layers${layers} `)) ? rows : undefined;
  }, 30_000);
  log(`import: Model view ${JSON.stringify(model.slice(0, 4).map((r) => r.slice(0, 50)))}; panel: "${message.trim()}"`);
  rmSync(out, { recursive: true, force: true });
}

let browser;
const metrics = () => (existsSync(metricsFile) ? readFileSync(metricsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
try {
  await poll('code-server to listen', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);

  log('opening prompts.txt');
  const row = await poll('the explorer to list prompts.txt', async () => {
    const r = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prompts.txt' });
    return (await r.count()) > 0 ? r.first() : undefined;
  }, 90_000);
  await row.click();
  const lines = page.locator('.editor-group-container .monaco-editor .view-lines');
  await lines.first().waitFor({ timeout: 30_000 });
  const firstLine = lines.first().locator('.view-line').first();
  await firstLine.click();
  await page.keyboard.press('Home');
  await page.keyboard.press('Shift+End');

  log('right-click → Explain with SEER');
  // Extension menu items appear only once the workbench has registered the extension's
  // contributions, a few seconds after the editor shows: the menu is reopened until the item is there.
  const t0 = await poll('"Explain with SEER" in the editor context menu', () => runContextMenuItem(page, firstLine, 'Explain with SEER'), 60_000);

  const panelFrame = await poll('the SEER panel to render its charts', async () => {
    for (const f of page.frames()) {
      if ((await f.locator('svg[data-chart="layers"]').count()) > 0) return f;
    }
    return undefined;
  }, 120_000);
  log(`panel rendered ${Date.now() - t0} ms after the click`);
  // Where the first webview's load time goes: the frame's own start vs our script's arrival.
  const frameTiming = await panelFrame.evaluate((t0Wall) => {
    const script = performance.getEntriesByType('resource').find((e) => e.name.includes('webview.js'));
    return { sinceFrameStartMs: Math.round(performance.now()), scriptStartMs: Math.round(script?.startTime ?? -1), scriptEndMs: Math.round(script?.responseEnd ?? -1),
      frameStartedMsAfterClick: Math.round(performance.timeOrigin - t0Wall) };
  }, t0).catch(() => undefined);
  log(`panel frame timing: ${JSON.stringify(frameTiming)}`);

  // ── checks on the real result ──
  const shownConcepts = await panelFrame.locator('.concept-toggle').evaluateAll((els) => els.map((e) => e.dataset.concept));
  if (JSON.stringify(shownConcepts) !== JSON.stringify(concepts)) fail(`legend concepts ${JSON.stringify(shownConcepts)} != bundle ${JSON.stringify(concepts)}`);
  const series = await panelFrame.locator('svg[data-chart="layers"] .series').count();
  if (series !== concepts.length) fail(`line chart has ${series} lines, expected ${concepts.length}`);
  const xTicks = await panelFrame.locator('svg[data-chart="layers"] .x-axis .tick').count();
  if (xTicks !== numLayers + 1) fail(`line chart has ${xTicks} layers, expected ${numLayers + 1} (0..${numLayers})`);
  const layerRows = await panelFrame.locator('svg[data-chart="layer-concept"] .row-labels text').count();
  if (layerRows !== numLayers + 1) fail(`layer × concept heatmap has ${layerRows} rows, expected ${numLayers + 1}`);
  const protoCells = await panelFrame.locator('svg[data-chart="prototypes"] rect.cell').count();
  if (protoCells !== concepts.length ** 2) fail(`prototype heatmap has ${protoCells} cells, expected ${concepts.length ** 2}`);
  // The token chart opens as text: one span per token, the read-out token marked (or, for a bundle read at the
  // mean, a line saying so: seer.representation defaults to the bank's pooling), a colour bar.
  const tokenRows = await panelFrame.locator('section[data-chart="tokens"] .token-text .tok').count();
  if (tokenRows < 10) fail(`token text has only ${tokenRows} tokens for a ${PROMPT.split(' ').length}-word prompt`);
  const readOuts = await panelFrame.locator('.token-text .tok.read-out + .read-out-label').count();
  const meanNotes = await panelFrame.locator('.token-text-view .read-out-note').count();
  const [wantMarked, wantNotes] = manifest.representation === 'mean' ? [0, 1] : [1, 0];
  if (readOuts !== wantMarked || meanNotes !== wantNotes) {
    fail(`${readOuts} read-out tokens marked and ${meanNotes} mean-pooling notes in the token text of a bundle read at ` +
      `${manifest.representation} pooling, expected ${wantMarked} and ${wantNotes}`);
  }
  const tokenBars = await panelFrame.locator('svg.token-color-bar g.color-bar linearGradient').count();
  if (tokenBars !== 1) fail(`the token text has ${tokenBars} colour bars, expected 1`);
  // The concept map (written by npm run build:model beside the default bank): its examples and the prompt on it.
  const mapPoints = await panelFrame.locator('svg[data-chart="concept-map"] circle.map-point').count();
  if (mapPoints < concepts.length) {
    const why = (await panelFrame.locator('section[data-chart="concept-map"] .note').allTextContents()).join(' ');
    fail(`the concept map has ${mapPoints} points for ${concepts.length} concepts (${why || 'no message'})`);
  }
  const promptMarkers = await panelFrame.locator('svg[data-chart="concept-map"] .prompt-marker').count();
  if (promptMarkers !== 1) fail(`the concept map marks the prompt ${promptMarkers} times, expected once`);
  const headline = (await panelFrame.locator('.headline .concept').textContent())?.trim();
  if (!concepts.includes(headline)) fail(`headline concept "${headline}" is not one of the bundle's concepts`);
  const quoted = (await panelFrame.locator('.headline .prompt').textContent())?.trim();
  if (quoted !== PROMPT) fail(`the panel explains "${quoted}", not the selected line`);
  const bodyClass = await panelFrame.locator('body').getAttribute('class');
  if (!/vscode-dark/.test(bodyClass ?? '')) fail(`expected the dark theme in the webview, body class is "${bodyClass}"`);
  // VS Code injects its own default styles (#_defaultStyles) into every webview; ours must add none.
  const styleTags = await panelFrame.locator('style:not(#_defaultStyles)').count();
  if (styleTags > 0) fail(`${styleTags} inline <style> element(s) in the panel: the CSP blocks them`);
  // Nothing overflows sideways at the default panel width: line charts fit their card, wide heatmaps
  // scroll inside their own host; and every heatmap carries its colour bar.
  const overflows = await panelFrame.evaluate(() => {
    const over = (el) => el.scrollWidth > el.clientWidth;
    const de = document.documentElement;
    const found = over(de) ? [`document ${de.scrollWidth} px > ${de.clientWidth} px`] : [];
    for (const el of document.querySelectorAll('.card, .chart-host:has(> svg.line-chart)')) {
      if (over(el)) found.push(`${el.className} ${el.closest('.card')?.dataset.chart}: ${el.scrollWidth} px > ${el.clientWidth} px`);
    }
    return found;
  });
  if (overflows.length) fail(`the panel overflows sideways: ${overflows.join('; ')}`);
  const heatmaps = await panelFrame.locator('svg.heatmap').count();
  const colorBars = await panelFrame.locator('svg.heatmap g.color-bar linearGradient').count();
  if (heatmaps < 2 || colorBars !== heatmaps) fail(`${colorBars} colour bars for ${heatmaps} heatmaps`);
  log(`checks passed: ${concepts.length} concepts, ${numLayers + 1} layers, ${tokenRows} tokens, headline "${headline}" `);
  await checkContrast(panelFrame, 'Dark Modern');
  await checkNarrowPanel(page, panelFrame);

  // Hide the side bar so that the panel gets more room for the screenshots.
  await page.keyboard.press('Control+B');
  await page.mouse.move(0, 0);
  await page.waitForTimeout(800);
  await page.screenshot({ path: path.join(shots, 'dark.png') });

  // A tooltip with the exact value on hover.
  const dot = panelFrame.locator('svg[data-chart="layers"] circle.dot').first();
  await dot.hover({ force: true });
  const tip = await panelFrame.locator('.tooltip').textContent();
  if (!/layer \d+: -?\d\.\d{3}/.test(tip ?? '')) fail(`tooltip shows "${tip}"`);

  // The theme is switched the way a user does it (the settings file is not re-read in time here):
  // "Preferences: Toggle between Light/Dark Themes" flips between the preferred light and dark themes.
  const toggleTheme = async () => {
    await firstLine.click();
    await page.keyboard.press('F1');
    await page.keyboard.type('Toggle between Light/Dark Themes');
    await page.waitForTimeout(800);
    await page.keyboard.press('Enter');
    await page.mouse.move(0, 0);
  };

  // The whole panel: a window tall enough for every chart, clipped to the panel's iframe.
  const panelScreenshot = async (file) => {
    const height = await panelFrame.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1600, height: Math.min(4000, height + 120) });
    await page.waitForTimeout(600);
    const box = await (await panelFrame.frameElement()).boundingBox();
    await page.screenshot({ path: path.join(shots, file), clip: box });
    await page.setViewportSize({ width: 1600, height: 1000 });
  };

  // ── export: the webview posts, the host asks where (save dialog) and writes the file ──
  const exportFile = async (button, ext) => {
    await panelFrame.locator(button).first().click();
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 15_000 });
    // The simple save dialog fills in the proposed path after it opens.
    const target = await poll(`the save dialog to propose a .${ext} file`, async () => {
      const v = await input.inputValue();
      return v.endsWith(`.${ext}`) ? v : undefined;
    }, 15_000);
    await page.keyboard.press('Enter');
    const file = path.join(workspace, path.basename(target));
    await poll(`${path.basename(file)} to be written`, async () => existsSync(file), 15_000);
    return readFileSync(file, 'utf8');
  };
  const csv = await exportFile('.export-result[data-format="csv"]', 'csv');
  if (!csv.startsWith('kind,layer,token_index,token,concept,cosine,probability')) fail(`exported CSV starts with ${csv.slice(0, 60)}`);
  const svgFile = await exportFile('section[data-chart="layers"] .export-chart[data-format="svg"]', 'svg');
  if (!svgFile.startsWith('<svg') || (svgFile.match(/class="series"/g) ?? []).length !== concepts.length) fail('exported SVG lacks the concept lines');
  log(`exported the result as CSV (${csv.split('\n').length - 2} rows) and the layer chart as SVG`);

  // ── later explains (warm engine) via the keybinding ──
  const secondLine = lines.first().locator('.view-line').nth(2);
  for (let i = 0; i < 3; i++) {
    await (i % 2 ? firstLine : secondLine).click();
    await page.keyboard.press('Control+Alt+E');
    await poll(`warm explain ${i + 1}`, async () => metrics().filter((m) => m.event === 'explain').length >= 2 + i, 30_000);
  }

  // ── side bar: Model view and History (click reopens an entry in the panel) ──
  await page.locator('.activitybar .action-item a[aria-label^="SEER"], .activitybar .action-item[aria-label^="SEER"]').first().click();
  const model = await poll('the Model view to show the loaded bundle', async () => {
    const rows = await page.locator('.pane-body .monaco-list-row').allTextContents();
    return rows.some((r) => r.includes(manifest.name)) ? rows : undefined;
  }, 20_000);
  if (!model.some((r) => /Provider\s*cpu/.test(r))) fail(`the Model view does not name the provider: ${JSON.stringify(model)}`);
  const historyRow = page.locator('.pane-body .monaco-list-row', { hasText: PROMPT.slice(0, 30) }).first();
  await historyRow.waitFor({ timeout: 20_000 });
  await page.screenshot({ path: path.join(shots, 'sidebar-dark.png') });
  await historyRow.click();
  await poll('the history entry to reopen in the panel', async () =>
    (await panelFrame.locator('.headline .prompt').textContent())?.trim() === PROMPT, 20_000);
  log(`side bar: Model view rows ${JSON.stringify(model.map((r) => r.slice(0, 40)))}; History reopened the first prompt`);
  await page.keyboard.press('Control+B'); // hide the side bar again for the screenshots

  // ── light theme ── (the export notifications are cleared first: the screenshot is the README's)
  await firstLine.click();
  await page.keyboard.press('F1');
  await page.keyboard.type('Notifications: Clear All Notifications');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Clear All Notifications' }).first().click({ timeout: 10_000 });
  await page.waitForTimeout(300);
  await toggleTheme();
  await poll('the webview to switch to the light theme', async () => /vscode-light/.test((await panelFrame.locator('body').getAttribute('class')) ?? ''), 20_000);
  await page.waitForTimeout(500);
  await checkContrast(panelFrame, 'Light Modern');
  await page.screenshot({ path: path.join(shots, 'light.png') });
  await panelScreenshot('panel-light.png');
  await toggleTheme();
  await poll('the webview to switch back to dark', async () => /vscode-dark/.test((await panelFrame.locator('body').getAttribute('class')) ?? ''), 20_000);
  await page.waitForTimeout(500);
  await panelScreenshot('panel-dark.png');

  // ── both high-contrast themes, picked as a user does ("Preferences: Color Theme"), then back to Dark Modern ──
  const pickTheme = async (name, bodyClass) => {
    await firstLine.click();
    // Rows are clicked by name: Enter could take a near match ("Browse Color Themes in Marketplace").
    const row = (text) => page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
    await page.keyboard.press('F1');
    await page.keyboard.type('Preferences: Color Theme');
    await row('Preferences: Color Theme').click({ timeout: 10_000 });
    await page.waitForTimeout(600); // the theme list replaces the command list
    await page.keyboard.type(name);
    await row(name).click({ timeout: 10_000 });
    await page.mouse.move(0, 0);
    await poll(`the webview to switch to ${name}`, async () => bodyClass.test((await panelFrame.locator('body').getAttribute('class')) ?? ''), 20_000);
    await page.waitForTimeout(500);
  };
  await pickTheme('Dark High Contrast', /vscode-high-contrast(?!-light)/);
  await checkContrast(panelFrame, 'Dark High Contrast');
  await pickTheme('Light High Contrast', /vscode-high-contrast-light/);
  await checkContrast(panelFrame, 'Light High Contrast');
  await pickTheme('Dark Modern', /vscode-dark/);

  // ── reload the window: the serializer restores the panel from the webview's saved state ──
  await page.reload();
  const restored = await poll('the panel to be restored after a reload', async () => {
    for (const f of page.frames()) {
      if ((await f.locator('svg[data-chart="layers"]').count()) > 0) return f;
    }
    return undefined;
  }, 90_000);
  const restoredPrompt = (await restored.locator('.headline .prompt').textContent())?.trim();
  if (restoredPrompt !== PROMPT) fail(`after a reload the panel shows "${restoredPrompt}", expected "${PROMPT}"`);
  log('panel restored after a window reload');

  if (pageErrors.length) log(`page errors (workbench): ${pageErrors.slice(0, 5).join(' | ')}`);

  // ── timings ──
  const m = metrics();
  const activate = m.find((x) => x.event === 'activate');
  const explains = m.filter((x) => x.event === 'explain');
  const cold = explains.find((x) => x.cold);
  const warm = explains.filter((x) => !x.cold);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = {
    measuredAt: new Date().toISOString(),
    where: 'code-server 4.139 (VS Code 1.139) + Chromium, this machine, test/e2e/run.mjs',
    bundle: manifest.name,
    activationMs: activate?.ms,
    firstExplainInclEngineStartMs: cold?.totalMs,
    firstExplainEngineMs: cold?.engineMs,
    firstExplainWebviewLoadMs: cold?.webviewReadyMs,
    laterExplainToRenderedMs: warm.length ? median(warm.map((x) => x.totalMs)) : undefined,
    laterExplainEngineMs: warm.length ? median(warm.map((x) => x.engineMs)) : undefined,
    laterExplainRenderMs: warm.length ? median(warm.map((x) => x.renderMs)) : undefined,
    laterExplainSamples: warm.map((x) => Math.round(x.totalMs)),
    tokensPerPrompt: explains.map((x) => x.tokens),
  };
  const record = process.argv.includes('--record');
  const benchFile = path.join(root, record ? 'bench/extension-results.json' : 'bench/tmp/e2e-timings.json');
  mkdirSync(path.dirname(benchFile), { recursive: true });
  const previous = record && existsSync(benchFile) ? JSON.parse(readFileSync(benchFile, 'utf8')) : {};
  writeFileSync(`${benchFile}.tmp`, JSON.stringify({ ...previous, e2e: results }, null, 2) + '\n');
  renameSync(`${benchFile}.tmp`, benchFile);
  log(`timings (${path.relative(root, benchFile)}): ${JSON.stringify(results)}`);
  for (const f of ['dark.png', 'light.png', 'panel-dark.png', 'panel-light.png']) {
    if (!existsSync(path.join(shots, f))) fail(`screenshot ${f} missing`);
  }
  // --record also refreshes the README's screenshots (a plain test run leaves the tree as it was).
  if (record) for (const theme of ['dark', 'light']) copyFileSync(path.join(shots, `${theme}.png`), path.join(root, 'media', `screenshot-${theme}.png`));

  // ── SEER: Import Hugging Face Model… from the command palette, through code-server's folder pickers (the
  // simple file dialog: a quick input whose value is the path), then "Use This Bundle" and explain with it ──
  // ── SEER: Explain File as Prompts: the panel's table and the editor's risk flags ──
  await fileTableStep(page);
  // ── Generate in the panel, recorded in the session and reopened from the History ──
  await generationStep(page, await poll('the panel\'s Generate card', async () => {
    for (const f of page.frames()) if ((await f.locator('.card.generation').count()) > 0) return f;
    return undefined;
  }, 20_000));
  // ── SEER: Compare with… two explanations of the session ──
  await compareStep(page, PROMPT, 'How do I bake bread at home?');
  // ── seer.executionProvider "torch" (the same Python as the import: Debian's torch) ──
  if (importSkipped) log(`torch provider step SKIPPED: ${importSkipped}`);
  else await torchStep(page, firstLine);
  if (importSkipped) log(`import step SKIPPED: ${importSkipped}`);
  else await importStep(page, firstLine);
  // The extension host logs unhandled rejections and uncaught errors of extensions: none may be ours.
  const hostLogs = readdirSync(path.join(userDir, 'logs'), { recursive: true })
    .filter((f) => /exthost\d*[/\\]remoteexthost\.log$/.test(f))
    .map((f) => readFileSync(path.join(userDir, 'logs', f), 'utf8'));
  if (hostLogs.length === 0) fail('no extension host log (remoteexthost.log) found under the user data dir');
  // One entry per timestamped line, with the stack lines that follow it (they name the extension's files).
  const entries = hostLogs.flatMap((t) => t.split(/\n(?=\d{4}-\d\d-\d\d )/));
  const ours = entries.filter((e) => /rejected promise|unhandled|uncaught/i.test(e) && /seer-vscode/i.test(e));
  if (ours.length) fail(`the extension host logged errors of ours:\n${ours.join('\n')}`);
  log(`extension host logs: no unhandled rejection or uncaught error from seer-vscode (${hostLogs.length} logs read)`);
  log('PASSED');
} catch (e) {
  console.error(`[e2e] FAILED: ${e.message}`);
  console.error(`[e2e] code-server log tail:\n${serverLog.slice(-3000)}`);
  // The extension's own log (its output channel) and the extension host's: what the extension said before failing.
  try {
    for (const f of readdirSync(path.join(userDir, 'logs'), { recursive: true }).filter((f) => /(SEER|seer|remoteexthost)[^/\\]*\.log$/.test(f))) {
      console.error(`[e2e] ${f} tail:\n${readFileSync(path.join(userDir, 'logs', f), 'utf8').slice(-2500)}`);
    }
  } catch {
    // no logs
  }
  try {
    const pages = browser?.contexts()[0]?.pages();
    if (pages?.[0]) await pages[0].screenshot({ path: path.join(shots, 'failure.png') });
  } catch {
    // no screenshot possible
  }
  console.error(`[e2e] FAILED (repeated after the logs above): ${e.message}`); // CI shows only the output's tail
  process.exitCode = 1;
} finally {
  await browser?.close();
  const exited = new Promise((r) => (server.exitCode !== null || server.signalCode !== null ? r() : server.once('exit', r)));
  stopServer();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
  rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
}
