// The SEER activity-bar container: Model (bundle, layers, concepts, provider; skipped providers below it; for torch
// the device and compute type of its Python process), Concepts, and History (click an entry to reopen it in the panel).
import * as vscode from 'vscode';
import type { LoadResult } from '../../common/protocol';
import { type HistoryEntry, type HistoryStore, toHistoryEntry } from './historyStore';
import { historyRowDescription, historyRowIcon, historyRowTooltip } from './historyRow';
import { torchRuntimeDetail, torchRuntimeText } from './providerText';

type Node = vscode.TreeItem;

function item(label: string, description?: string, icon?: string, tooltip?: string): Node {
  const it = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
  it.description = description;
  if (icon) it.iconPath = new vscode.ThemeIcon(icon);
  it.tooltip = tooltip ?? (description ? `${label}: ${description}` : label);
  return it;
}

/** Children of the few expandable items (the Provider item's skipped providers). */
const CHILDREN = new WeakMap<Node, Node[]>();

function parent(node: Node, children: Node[]): Node {
  if (children.length === 0) return node;
  node.collapsibleState = vscode.TreeItemCollapsibleState.Collapsed;
  CHILDREN.set(node, children);
  return node;
}

class ListProvider implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  constructor(private readonly build: () => Node[] | Promise<Node[]>) {}
  refresh(): void {
    this.changed.fire();
  }
  getTreeItem(n: Node): Node {
    return n;
  }
  getChildren(n?: Node): Node[] | Promise<Node[]> {
    return n ? CHILDREN.get(n) ?? [] : this.build();
  }
}

export interface ModelStatus {
  load?: LoadResult;
  bundleDir: string;
  error?: string;
  note?: string;
}

export class SeerSidebar implements vscode.Disposable {
  private status: ModelStatus = { bundleDir: '' };
  private readonly model = new ListProvider(() => this.modelItems());
  private readonly concepts = new ListProvider(() => this.conceptItems());
  private readonly history: ListProvider;
  private readonly historyView: vscode.TreeView<Node>;
  private readonly disposables: vscode.Disposable[];

  constructor(store: HistoryStore) {
    this.history = new ListProvider(() => this.historyItems(store));
    // Several entries can be selected: Compare takes two to six (extension/src/compareFeature.ts).
    this.historyView = vscode.window.createTreeView('seer.history', { treeDataProvider: this.history, canSelectMany: true });
    this.disposables = [
      vscode.window.registerTreeDataProvider('seer.model', this.model),
      vscode.window.registerTreeDataProvider('seer.concepts', this.concepts),
      this.historyView,
    ];
  }

  /** The session's entries, newest first, under its name; a damaged session file is one error item (the file is left as it is). */
  private async historyItems(store: HistoryStore): Promise<Node[]> {
    try {
      const session = await store.session();
      this.historyView.description = session.name;
      return [...session.entries].reverse().map((e) => historyItem(toHistoryEntry(e)));
    } catch (e) {
      this.historyView.description = undefined;
      const it = item('The session file cannot be read', (e as Error).message, 'error', (e as Error).message);
      it.command = { command: 'vscode.open', title: 'Open Session File', arguments: [vscode.Uri.file(store.sessionFile)] };
      return [it];
    }
  }

  setStatus(status: ModelStatus): void {
    this.status = status;
    this.model.refresh();
    this.concepts.refresh();
  }

  refreshHistory(): void {
    this.history.refresh();
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private modelItems(): Node[] {
    const s = this.status;
    const items: Node[] = [];
    if (s.error) items.push(item('Error', s.error, 'error'));
    if (s.note) items.push(item('Note', s.note, 'info'));
    if (!s.load) {
      const idle = item('Not loaded', 'the engine starts at the first explain', 'circle-outline');
      const bundle = item('Bundle', s.bundleDir, 'package');
      const pick = item('Select SEER model bundle…', undefined, 'folder-opened');
      pick.command = { command: 'seer.selectBundle', title: 'Select SEER model bundle…' };
      return [...items, idle, bundle, pick];
    }
    const { bundle, provider } = s.load;
    const a = bundle.architecture;
    items.push(
      item('Bundle', bundle.name, 'package', `${bundle.name}\n${bundle.dir}\n${bundle.description}`),
      item('Layers', `${a.numLayers} (target ${bundle.targetLayers.join(', ')})`, 'layers'),
      item('Architecture', `${a.type}, hidden ${a.hiddenSize}, ${a.numHeads} heads, context ${a.maxContext}`, 'circuit-board'),
      s.load.banks.length === 0
        ? item('Concepts', 'no concept bank yet: calibrate one', 'symbol-enum', 'Explaining needs a concept bank: run "SEER: Calibrate Concepts from Dataset…" with labelled data.')
        : item('Concepts', `${bundle.concepts.length} in bank “${bundle.defaultBank}”`, 'symbol-enum'),
      // What runs comes first; providers that were skipped are one level down, in neutral words.
      parent(item('Provider', `${provider.used} (asked ${provider.requested})`, 'server-process', provider.reason),
        provider.attempts.filter((t) => !t.ok).map((t) => item(t.provider, skippedProvider(t.reason), 'circle-slash', `${t.provider}: ${t.reason ?? 'did not start'}`))),
    );
    // The torch provider's Python process: the device and compute type it runs on.
    if (provider.torch) items.push(item('PyTorch', torchRuntimeText(provider.torch), 'flame', torchRuntimeDetail(provider.torch)));
    if (provider.fellBackToCpu) items.push(item('Fell back to CPU', provider.fellBackToCpu, 'warning'));
    return items;
  }

  private conceptItems(): Node[] {
    const load = this.status.load;
    if (!load) return [item('Load a model to list its concepts', undefined, 'info')];
    const bank = load.banks.find((b) => b.name === load.bundle.defaultBank) ?? load.banks[0];
    const target = load.bundle.targetLayers[0];
    const stats = bank?.stats.find((s) => s.layer === target);
    if (!bank) return load.bundle.concepts.map((c) => item(c, undefined, 'symbol-misc'));
    // A bank calibrated without safe concepts says nothing about safety: "unknown", never "unsafe".
    const safety = (c: string): { label: string; icon: string } =>
      !bank.safetyKnown ? { label: 'safety unknown', icon: 'question' }
        : bank.safeConcepts.includes(c) ? { label: 'safe', icon: 'pass' } : { label: 'unsafe', icon: 'warning' };
    return bank.concepts.map((c, i) => {
      const { label, icon } = safety(c);
      return item(c, `${label}${stats ? ` · ${stats.counts[i]} examples` : ''}`, icon);
    });
  }
}

/** A skipped provider in a few calm words; the full reason is in the tooltip, the fix in `seer doctor`. */
function skippedProvider(reason = ''): string {
  const what = /providers_cuda/.test(reason) ? 'not installed'
    : /libvulkan/.test(reason) ? 'no Vulkan on this system'
      : /earlier in this process/.test(reason) ? 'did not start earlier'
        : 'did not start';
  return `${what} — see seer doctor`;
}

function historyItem(e: HistoryEntry): Node {
  const it = item(e.preview || '(empty)', historyRowDescription(e), historyRowIcon(e), historyRowTooltip(e));
  // A generation reopens with its runs (generateFeature.ts), an explanation as a result (explainFeature.ts).
  const open = e.kind === 'generation' ? 'seer.openGeneration' : 'seer.openHistoryEntry';
  it.command = { command: open, title: 'Open in SEER panel', arguments: [e.id] };
  it.id = e.id; // the argument of the item's context menu commands (Delete Entry)
  // Generations have their own context value: Compare (explanations only) is not offered on them; Delete is.
  it.contextValue = e.kind === 'generation' ? 'seer.historyGeneration' : 'seer.historyEntry';
  return it;
}
