// Webview entry: registers the VS Code-styled components, relays messages between the host and the
// PanelView, and keeps the panel state (vscode.setState) so that the serializer can restore it.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { isToWebviewMessage, type FromWebviewMessage, type PanelSettings, type PanelState } from '../../common/protocol';
import type { Comparison } from '../../engine/src/compare';
import { CompareView } from './compareView';
import { svgToPng, serializeSvg } from './exportChart';
import { FileTableView } from './fileTable';
import { GenerationView } from './generationView';
import { PanelView, type ViewState } from './panelView';

interface VsCodeApi {
  postMessage(message: FromWebviewMessage): void;
  getState(): (PanelState & { view?: ViewState; settings?: PanelSettings }) | undefined;
  setState(state: PanelState & { view?: ViewState; settings?: PanelSettings }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;

const view = new PanelView(root, {
  exportChart(chart, format, svg) {
    if (format === 'svg') vscode.postMessage({ type: 'exportChart', chart, format, data: serializeSvg(svg) });
    else {
      svgToPng(svg).then(
        (data) => vscode.postMessage({ type: 'exportChart', chart, format, data }),
        (err: Error) => view.showMessage('error', `PNG export failed: ${err.message}`),
      );
    }
  },
  exportResult(format) {
    vscode.postMessage({ type: 'exportResult', format });
  },
  viewChanged(state) {
    vscode.setState({ ...vscode.getState(), view: state });
  },
});

// Generate continues the explained prompt (the host knows which): shown under the headline of each result.
const generation = new GenerationView(document, {
  generate: (request) => vscode.postMessage({ type: 'generate', ...request }),
  stop: () => vscode.postMessage({ type: 'stopGeneration' }),
});

// Explain File's table sits above the result: a clicked row's explanation renders below it.
const fileTable = new FileTableView(document, {
  open: (index) => vscode.postMessage({ type: 'openFileRow', index }),
  exportCsv: () => vscode.postMessage({ type: 'exportFileTable' }),
});
root.before(fileTable.element);

// Compare replaces the result view in the same root until the next result arrives.
const compare = new CompareView(root);
let comparing = false;

function show(state: ReturnType<VsCodeApi['getState']>): void {
  if (state?.comparison) return showComparison(state.comparison, 'restored');
  comparing = false;
  if (!state?.result) return;
  const started = performance.now();
  const charts = view.render(state.result, state.settings ?? { heatmapScheme: 'diverging' }, state.view);
  // A new prompt: a generation of the previous one stops, and the card starts empty.
  if (generation.generating) vscode.postMessage({ type: 'stopGeneration' });
  generation.reset(state.result.concepts);
  root.querySelector(':scope > .headline')?.after(generation.element);
  // Report after the browser has laid out and painted the charts.
  requestAnimationFrame(() =>
    vscode.postMessage({ type: 'rendered', id: state.result!.id, ms: performance.now() - started, charts }),
  );
}

function showComparison(comparison: Comparison, id: string): void {
  const started = performance.now();
  comparing = true;
  compare.render(comparison);
  if (generation.generating) vscode.postMessage({ type: 'stopGeneration' });
  requestAnimationFrame(() => vscode.postMessage({ type: 'rendered', id, ms: performance.now() - started, charts: [] }));
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const msg = event.data;
  if (!isToWebviewMessage(msg)) return;
  switch (msg.type) {
    case 'result': {
      const previous = vscode.getState();
      const sameConcepts = previous?.result?.concepts.join('\n') === msg.result.concepts.join('\n');
      const state = { result: msg.result, settings: msg.settings, view: sameConcepts ? previous?.view : undefined };
      vscode.setState(state);
      show(state);
      break;
    }
    case 'settings':
      vscode.setState({ ...vscode.getState(), settings: msg.settings });
      // The compare view's heatmap is diverging whatever the setting; the result view takes it at its next render.
      if (!comparing) view.applySettings(msg.settings);
      break;
    case 'busy':
      view.showMessage(msg.type, msg.message);
      break;
    case 'error':
      // The failed explain replaces the previous result, in the saved state too (a reload must not revive it).
      vscode.setState({ ...vscode.getState(), result: undefined, comparison: undefined });
      comparing = false;
      if (generation.generating) vscode.postMessage({ type: 'stopGeneration' });
      view.showError(msg.message);
      break;
    case 'generationStep':
      generation.step(msg.id, msg.run, msg.index, msg.step);
      break;
    case 'generationEnd':
      generation.end(msg.id, msg.run, msg.generation);
      break;
    case 'generationError':
      generation.fail(msg.id, msg.message);
      break;
    case 'generationRecorded':
      generation.showRecorded(msg.generations, msg.steer);
      break;
    case 'fileRows':
      fileTable.update(msg.file, msg.total, msg.rows, msg.reset, msg.done);
      break;
    case 'comparison':
      // The saved state holds the comparison instead of a result: a reload restores the compare view.
      vscode.setState({ settings: vscode.getState()?.settings, comparison: msg.comparison });
      showComparison(msg.comparison, msg.id);
      break;
  }
});

let resizeTimer: ReturnType<typeof setTimeout> | undefined;
new ResizeObserver(() => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => (comparing ? compare.resized() : view.resized()), 150);
}).observe(root);

show(vscode.getState());
vscode.postMessage({ type: 'ready' });
