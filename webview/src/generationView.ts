// The panel's Generate card (issue 13 items 3-4): max tokens, temperature and an optional steering concept and
// strength; Generate and Stop; the continuation of the explained prompt streamed token by token, each token
// underlined in its concept's colour (the colours of the concept toggles) with the concept and its probability
// on hover. With steering, the plain and the steered run side by side, then each one's mean probability of the
// steered concept. Knows nothing about the VS Code API: main.ts relays the messages.
import type { Generation, GenerationRun, GenerationStep, PanelGenerateRequest, SteeringTerm } from '../../common/protocol';
import { PANEL_GENERATION } from '../../common/protocol';
import { seriesColor as conceptColor } from '../../common/charts/colors';
import { el } from './dom';
import { pct } from './format';

export interface GenerationCallbacks {
  generate(request: PanelGenerateRequest): void;
  stop(): void;
}

const DEFAULT_MAX_NEW_TOKENS = 32;
const DEFAULT_STRENGTH = -4;

interface RunView {
  text: HTMLElement;
  summary: HTMLElement;
  steps: GenerationStep[];
  ended: boolean;
}

export class GenerationView {
  readonly element: HTMLElement;
  private readonly doc: Document;
  private concepts: string[] = [];
  private readonly maxTokens: HTMLInputElement;
  private readonly temperature: HTMLInputElement;
  private readonly steerConcept: HTMLSelectElement;
  private readonly strength: HTMLInputElement;
  private readonly generateButton: HTMLElement;
  private readonly stopButton: HTMLElement;
  private readonly runsHost: HTMLElement;
  private readonly status: HTMLElement;
  private runs: RunView[] = [];
  private steer?: PanelGenerateRequest['steer'];
  /** The id of the last Generate: messages of an earlier one (still arriving after Stop) are dropped. */
  private id = 0;

  constructor(doc: Document, private readonly callbacks: GenerationCallbacks) {
    this.doc = doc;
    this.element = el(doc, 'section', 'card generation');
    const head = el(doc, 'div', 'card-head');
    head.append(el(doc, 'h2', '', 'Generate with a live explanation'));
    const controls = el(doc, 'div', 'generation-controls');
    this.maxTokens = this.numberInput('max-new-tokens', String(DEFAULT_MAX_NEW_TOKENS), { min: '1', max: String(PANEL_GENERATION.maxNewTokens), step: '1' });
    this.temperature = this.numberInput('temperature', '0', { min: '0', max: String(PANEL_GENERATION.maxTemperature), step: '0.1' });
    this.temperature.title = '0: greedy (deterministic); above 0: sampled from softmax(logits / temperature)';
    this.steerConcept = el(doc, 'select', 'steer-concept');
    this.steerConcept.title = 'Add strength × this concept\'s unit prototype to the residual stream at the target layer';
    this.strength = this.numberInput('steer-strength', String(DEFAULT_STRENGTH), { step: 'any' });
    this.strength.title = 'Negative: away from the concept; positive: toward it (in the residual stream\'s units)';
    this.generateButton = el(doc, 'vscode-button', 'generate', 'Generate');
    this.generateButton.addEventListener('click', () => this.start());
    this.stopButton = el(doc, 'vscode-button', 'stop-generation', 'Stop');
    this.stopButton.setAttribute('secondary', '');
    this.stopButton.addEventListener('click', () => {
      if (this.generating) this.callbacks.stop();
    });
    controls.append(
      this.labelled('Max tokens', this.maxTokens),
      this.labelled('Temperature', this.temperature),
      this.labelled('Steer', this.steerConcept),
      this.labelled('Strength', this.strength),
      this.generateButton,
      this.stopButton,
    );
    this.runsHost = el(doc, 'div', 'generation-runs');
    this.status = el(doc, 'p', 'generation-status');
    this.status.setAttribute('role', 'status');
    this.element.append(head, controls, this.runsHost, this.status);
    this.setGenerating(false);
  }

  get generating(): boolean {
    return this.runs.some((r) => !r.ended);
  }

  /** A new explained prompt: its bank's concepts to steer, and no continuation yet. */
  reset(concepts: string[]): void {
    this.concepts = concepts;
    const chosen = this.steerConcept.value;
    const option = (label: string, value: string) => Object.assign(el(this.doc, 'option', '', label), { value });
    this.steerConcept.replaceChildren(option('(no steering)', ''), ...concepts.map((c) => option(c, c)));
    this.steerConcept.value = concepts.includes(chosen) ? chosen : '';
    this.runs = [];
    this.runsHost.replaceChildren();
    this.say('');
    this.setGenerating(false);
  }

  step(id: number, run: GenerationRun, index: number, step: GenerationStep): void {
    const view = this.current(id, run);
    if (!view) return;
    view.steps[index] = step;
    // A step reopened from the session alone has no probabilities: its concept still picks the colour.
    const k = step.probs.length ? step.probs.indexOf(Math.max(...step.probs)) : this.concepts.indexOf(step.concept);
    const token = el(this.doc, 'span', 'gen-tok', step.token);
    token.style.borderBottomColor = conceptColor(k);
    token.title = step.probs.length ? `${step.concept} ${pct(step.probs[k])}` : step.concept;
    token.dataset.concept = step.concept;
    view.text.append(token);
  }

  end(id: number, run: GenerationRun, generation: Generation): void {
    const view = this.current(id, run);
    if (!view) return;
    view.ended = true;
    view.steps = generation.steps;
    const stopped = generation.stopReason === 'cancelled' ? 'stopped' : generation.stopReason === 'eos' ? 'the model ended' : generation.stopReason === 'context' ? 'context full' : 'max tokens';
    const n = generation.steps.length;
    let summary = `${n} token${n === 1 ? '' : 's'} · ${stopped}`;
    const steer = this.steer;
    if (steer && generation.steps.length > 0 && generation.steps[0].probs.length > 0) {
      const c = generation.concepts.indexOf(steer.concept);
      const mean = generation.steps.reduce((sum, s) => sum + s.probs[c], 0) / generation.steps.length;
      summary += ` · mean probability of ${steer.concept}: ${pct(mean)}`;
    }
    view.summary.textContent = summary;
    if (!this.generating) this.setGenerating(false);
  }

  fail(id: number, message: string): void {
    if (id !== this.id) return;
    for (const r of this.runs) r.ended = true;
    this.setGenerating(false);
    this.say(message, true);
  }

  /**
   * A recorded generation reopened from the History (the panel shows its prompt's result first): its runs drawn
   * as if they had just streamed in. A generation still running is dropped (its late messages carry an old id).
   */
  showRecorded(generations: Generation[], steer: SteeringTerm[] = []): void {
    if (this.generating) this.callbacks.stop();
    this.openRuns(steer);
    const id = ++this.id;
    generations.slice(0, this.runs.length).forEach((g, run) => {
      g.steps.forEach((s, i) => this.step(id, run as GenerationRun, i, s));
      this.end(id, run as GenerationRun, g);
    });
    this.setGenerating(false);
  }

  /** Run `run` of generation `id` while it is the one shown and still going; otherwise undefined. */
  private current(id: number, run: GenerationRun): RunView | undefined {
    const view = this.runs[run];
    return id === this.id && view && !view.ended ? view : undefined;
  }

  private start(): void {
    if (this.generating) return;
    const maxNewTokens = Number(this.maxTokens.value);
    const temperature = Number(this.temperature.value);
    const strength = Number(this.strength.value);
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens > PANEL_GENERATION.maxNewTokens) {
      return this.say(`Max tokens must be a whole number from 1 to ${PANEL_GENERATION.maxNewTokens}.`, true);
    }
    if (this.temperature.value.trim() === '' || !(temperature >= 0 && temperature <= PANEL_GENERATION.maxTemperature)) {
      return this.say(`Temperature must be a number from 0 (greedy) to ${PANEL_GENERATION.maxTemperature}.`, true);
    }
    const concept = this.steerConcept.value;
    if (concept && (this.strength.value.trim() === '' || !Number.isFinite(strength))) {
      return this.say('Strength must be a number: negative steers away from the concept, positive toward it.', true);
    }
    this.openRuns(concept ? [{ concept, strength }] : []);
    this.say('');
    this.setGenerating(true);
    this.callbacks.generate({ id: ++this.id, maxNewTokens, temperature, ...(this.steer && { steer: this.steer }) });
  }

  /** Empty columns for a run, or a plain and a steered run side by side (the CLI records several terms in one run). */
  private openRuns(steer: SteeringTerm[]): void {
    this.steer = steer.length === 1 ? steer[0] : undefined;
    const terms = steer.map((t) => `${t.concept} ${t.strength > 0 ? '+' : ''}${t.strength}`).join(', ');
    const labels = steer.length ? ['plain', `steered: ${terms}`] : ['continuation'];
    this.runsHost.replaceChildren();
    this.runs = labels.map((label) => {
      const column = el(this.doc, 'div', 'generation-run');
      const text = el(this.doc, 'div', 'token-text generated-text');
      const summary = el(this.doc, 'p', 'generation-summary');
      column.append(el(this.doc, 'h3', '', label), text, summary);
      this.runsHost.append(column);
      return { text, summary, steps: [], ended: false };
    });
    this.runsHost.classList.toggle('side-by-side', this.runs.length === 2);
  }

  private setGenerating(on: boolean): void {
    toggleDisabled(this.generateButton, on);
    toggleDisabled(this.stopButton, !on);
    if (!on && this.runs.length === 0) this.say(this.concepts.length ? '' : 'Explain a prompt first: Generate continues it.');
  }

  private say(message: string, error = false): void {
    this.status.textContent = message;
    this.status.classList.toggle('error', error);
  }

  private numberInput(name: string, value: string, attrs: Record<string, string>): HTMLInputElement {
    const input = el(this.doc, 'input', name);
    input.type = 'number';
    input.value = value;
    for (const [k, v] of Object.entries(attrs)) input.setAttribute(k, v);
    return input;
  }

  private labelled(text: string, control: HTMLElement): HTMLElement {
    const label = el(this.doc, 'label', 'generation-control', text);
    label.append(control);
    return label;
  }
}

function toggleDisabled(button: HTMLElement, disabled: boolean): void {
  if (disabled) button.setAttribute('disabled', '');
  else button.removeAttribute('disabled');
}
