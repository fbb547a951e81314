// @vitest-environment happy-dom
// The panel's Generate card (webview/src/generationView.ts): its request from the controls (refused in the card
// when a control is wrong), tokens streamed into one run or a plain and a steered run side by side, each
// underlined in its concept's colour, Stop; and the host's checks of the generate messages (common/protocol.ts).
import { describe, expect, it } from 'vitest';
import { seriesColor } from '../../common/charts/colors';
import { type GenerationStep, isFromWebviewMessage, isToWebviewMessage, type PanelGenerateRequest } from '../../common/protocol';
import { GenerationView } from '../../webview/src/generationView';

const CONCEPTS = ['violence', 'cooking', 'finance'];

function card() {
  document.body.innerHTML = '';
  const requests: PanelGenerateRequest[] = [];
  let stops = 0;
  const view = new GenerationView(document, { generate: (r) => requests.push(r), stop: () => stops++ });
  document.body.append(view.element);
  view.reset(CONCEPTS);
  const q = <T extends Element>(selector: string) => view.element.querySelector<T>(selector)!;
  const set = (selector: string, value: string) => {
    q<HTMLInputElement | HTMLSelectElement>(selector).value = value;
  };
  const disabled = (selector: string) => q(selector).hasAttribute('disabled');
  return { view, requests, stops: () => stops, q, set, disabled };
}

const step = (token: string, probs: number[]): GenerationStep => ({ token, id: 7, concept: CONCEPTS[probs.indexOf(Math.max(...probs))], probs });

describe('the Generate card', () => {
  it('asks for a greedy continuation by default and streams its tokens, each underlined in its concept\'s colour', () => {
    const { view, requests, q, disabled } = card();
    expect([...q<HTMLSelectElement>('select.steer-concept').options].map((o) => o.value)).toEqual(['', ...CONCEPTS]);
    expect(disabled('.stop-generation')).toBe(true);
    q<HTMLElement>('.generate').click();
    expect(requests).toEqual([{ id: 1, maxNewTokens: 32, temperature: 0 }]);
    expect(view.generating).toBe(true);
    expect(disabled('.generate')).toBe(true);
    expect(disabled('.stop-generation')).toBe(false);

    const steps = [step(' Slice', [0.1, 0.8, 0.1]), step(' it', [0.5, 0.3, 0.2])];
    steps.forEach((s, i) => view.step(1, 0, i, s));
    const tokens = [...view.element.querySelectorAll<HTMLElement>('.gen-tok')];
    expect(tokens.map((t) => t.textContent)).toEqual([' Slice', ' it']);
    expect(tokens.map((t) => t.title)).toEqual(['cooking 80.0%', 'violence 50.0%']);
    expect(tokens[0].style.borderBottomColor).toBe(seriesColor(1));

    view.end(1, 0, { text: ' Slice it', concepts: CONCEPTS, steps, stopReason: 'max-new-tokens' });
    expect(view.generating).toBe(false);
    expect(q('.generation-summary').textContent).toBe('2 tokens · max tokens');
    expect(disabled('.generate')).toBe(false);
  });

  it('with a steering concept, runs plain and steered side by side and gives each one\'s mean probability of it', () => {
    const { view, requests, q, set } = card();
    set('select.steer-concept', 'violence');
    set('input.steer-strength', '-6');
    set('input.max-new-tokens', '5');
    set('input.temperature', '0.7');
    q<HTMLElement>('.generate').click();
    expect(requests).toEqual([{ id: 1, maxNewTokens: 5, temperature: 0.7, steer: { concept: 'violence', strength: -6 } }]);
    expect(q('.generation-runs').classList.contains('side-by-side')).toBe(true);
    expect([...view.element.querySelectorAll('.generation-run h3')].map((h) => h.textContent)).toEqual(['plain', 'steered: violence -6']);

    const plain = [step(' a', [0.6, 0.2, 0.2]), step(' b', [0.4, 0.3, 0.3])];
    const steered = [step(' c', [0.1, 0.6, 0.3])];
    view.step(1, 1, 0, steered[0]);
    plain.forEach((s, i) => view.step(1, 0, i, s));
    view.end(1, 1, { text: ' c', concepts: CONCEPTS, steps: steered, stopReason: 'eos' });
    expect(view.generating).toBe(true); // the plain run goes on
    view.end(1, 0, { text: ' a b', concepts: CONCEPTS, steps: plain, stopReason: 'cancelled' });
    const summaries = [...view.element.querySelectorAll('.generation-summary')].map((p) => p.textContent);
    expect(summaries).toEqual(['2 tokens · stopped · mean probability of violence: 50.0%', '1 token · the model ended · mean probability of violence: 10.0%']);
    expect([...view.element.querySelectorAll('.generation-run')].map((r) => r.querySelectorAll('.gen-tok').length)).toEqual([2, 1]);
  });

  it('Stop asks the host to stop; a failure ends the runs and says why', () => {
    const { view, stops, q } = card();
    q<HTMLElement>('.stop-generation').click();
    expect(stops()).toBe(0); // nothing to stop
    q<HTMLElement>('.generate').click();
    q<HTMLElement>('.stop-generation').click();
    expect(stops()).toBe(1);
    view.fail(1, 'The bank has no such concept.');
    expect(view.generating).toBe(false);
    expect(q('.generation-status').textContent).toBe('The bank has no such concept.');
    expect(q('.generation-status').classList.contains('error')).toBe(true);
  });

  it('refuses wrong controls in the card, sending nothing', () => {
    const { requests, q, set } = card();
    const refused = (selector: string, value: string, message: RegExp) => {
      set(selector, value);
      q<HTMLElement>('.generate').click();
      expect(q('.generation-status').textContent).toMatch(message);
      expect(requests).toEqual([]);
    };
    refused('input.max-new-tokens', '0', /Max tokens must be a whole number from 1 to 1024/);
    refused('input.max-new-tokens', '2.5', /Max tokens must be a whole number/);
    set('input.max-new-tokens', '8');
    refused('input.temperature', '-1', /Temperature must be a number from 0/);
    set('input.temperature', '0');
    set('select.steer-concept', 'cooking');
    refused('input.steer-strength', '', /Strength must be a number/);
  });

  it('a new prompt empties the card and keeps a steering concept the new bank has; late messages of an earlier generation are dropped', () => {
    const { view, requests, q, set } = card();
    set('select.steer-concept', 'finance');
    q<HTMLElement>('.generate').click();
    view.step(1, 0, 0, step(' x', [0.2, 0.2, 0.6]));
    view.reset(['finance', 'travel']);
    expect(view.element.querySelectorAll('.gen-tok')).toHaveLength(0);
    expect(view.generating).toBe(false);
    expect(q<HTMLSelectElement>('select.steer-concept').value).toBe('finance');
    view.step(1, 0, 1, step(' y', [0.2, 0.2, 0.6])); // a late token of the old run: dropped
    expect(view.element.querySelectorAll('.gen-tok')).toHaveLength(0);
    // Generate again at once: the old generation's end and error (after its Stop) do not touch the new one.
    q<HTMLElement>('.generate').click();
    expect(requests.map((r) => r.id)).toEqual([1, 2]);
    view.end(1, 0, { text: ' x', concepts: CONCEPTS, steps: [step(' x', [0.2, 0.2, 0.6])], stopReason: 'cancelled' });
    view.fail(1, 'Stopped.');
    expect(view.generating).toBe(true);
    view.step(2, 0, 0, step(' z', [0.2, 0.2, 0.6]));
    expect([...view.element.querySelectorAll('.gen-tok')].map((t) => t.textContent)).toEqual([' z']);
  });
});

describe('generate messages between the panel and the host', () => {
  it('the host accepts a well-formed Generate and Stop, and nothing out of bounds', () => {
    const ok = { type: 'generate', id: 3, maxNewTokens: 32, temperature: 0 };
    expect(isFromWebviewMessage(ok)).toBe(true);
    expect(isFromWebviewMessage({ ...ok, steer: { concept: 'violence', strength: -4 } })).toBe(true);
    expect(isFromWebviewMessage({ type: 'stopGeneration' })).toBe(true);
    for (const bad of [
      { ...ok, id: 'x' },
      { ...ok, id: undefined },
      { ...ok, maxNewTokens: 0 },
      { ...ok, maxNewTokens: 1025 },
      { ...ok, maxNewTokens: 2.5 },
      { ...ok, temperature: -1 },
      { ...ok, temperature: Number.NaN },
      { ...ok, temperature: '0' },
      { ...ok, steer: { concept: 'violence', strength: Number.POSITIVE_INFINITY } },
      { ...ok, steer: { concept: 'violence', strength: 'strong' } },
      { ...ok, steer: { concept: '', strength: 1 } },
      { ...ok, steer: { concept: 'x'.repeat(201), strength: 1 } },
    ]) expect(isFromWebviewMessage(bad), JSON.stringify(bad)).toBe(false);
  });

  it('the webview accepts the host\'s generation messages', () => {
    const s = step(' a', [0.6, 0.2, 0.2]);
    expect(isToWebviewMessage({ type: 'generationStep', id: 1, run: 0, index: 0, step: s })).toBe(true);
    expect(isToWebviewMessage({ type: 'generationStep', id: 1, run: 2, index: 0, step: s })).toBe(false);
    expect(isToWebviewMessage({ type: 'generationEnd', id: 1, run: 1, generation: { text: '', concepts: CONCEPTS, steps: [], stopReason: 'eos' } })).toBe(true);
    expect(isToWebviewMessage({ type: 'generationError', id: 1, message: 'no' })).toBe(true);
    expect(isToWebviewMessage({ type: 'generationError', message: 'no' })).toBe(false);
  });
});

describe('a recorded generation reopened from the History', () => {
  it('draws its plain and steered runs as they ended, then Generate works as before', () => {
    const { view, requests, q } = card();
    const plain = [step(' a', [0.6, 0.2, 0.2]), step(' b', [0.2, 0.2, 0.6])];
    const steered = [step(' c', [0.1, 0.6, 0.3])];
    view.showRecorded([
      { text: ' a b', concepts: CONCEPTS, steps: plain, stopReason: 'cancelled' },
      { text: ' c', concepts: CONCEPTS, steps: steered, stopReason: 'eos' },
    ], [{ concept: 'violence', strength: -6 }]);
    expect([...view.element.querySelectorAll('.generation-run h3')].map((h) => h.textContent)).toEqual(['plain', 'steered: violence -6']);
    expect([...view.element.querySelectorAll('.generation-run')].map((r) => [...r.querySelectorAll('.gen-tok')].map((t) => t.textContent)))
      .toEqual([[' a', ' b'], [' c']]);
    expect([...view.element.querySelectorAll('.generation-summary')].map((p) => p.textContent))
      .toEqual(['2 tokens · stopped · mean probability of violence: 40.0%', '1 token · the model ended · mean probability of violence: 10.0%']);
    expect(view.generating).toBe(false);
    q<HTMLElement>('.generate').click();
    expect(requests).toHaveLength(1);
    expect(view.generating).toBe(true);
  });

  it('from the session alone (no probabilities): each token in its concept\'s colour, titled by its concept, no mean', () => {
    const { view } = card();
    const traced = (token: string, concept: string): GenerationStep => ({ token, id: -1, concept, probs: [] });
    view.showRecorded([
      { text: ' x y', concepts: CONCEPTS, steps: [traced(' x', 'finance'), traced(' y', 'cooking')], stopReason: 'max-new-tokens' },
      { text: ' z', concepts: CONCEPTS, steps: [traced(' z', 'cooking')], stopReason: 'max-new-tokens' },
    ], [{ concept: 'finance', strength: -2 }, { concept: 'violence', strength: 1 }]);
    const tokens = [...view.element.querySelectorAll<HTMLElement>('.gen-tok')];
    expect(tokens.map((t) => t.title)).toEqual(['finance', 'cooking', 'cooking']);
    expect(tokens.map((t) => t.style.borderBottomColor)).toEqual([seriesColor(2), seriesColor(1), seriesColor(1)]);
    expect(view.element.querySelectorAll('.generation-run h3')[1].textContent).toBe('steered: finance -2, violence +1');
    expect([...view.element.querySelectorAll('.generation-summary')].map((p) => p.textContent)).toEqual(['2 tokens · max tokens', '1 token · max tokens']);
  });

  it('a generation still streaming is stopped, and its late tokens do not land in the recorded one', () => {
    const { view, stops, q } = card();
    q<HTMLElement>('.generate').click();
    view.showRecorded([{ text: ' r', concepts: CONCEPTS, steps: [step(' r', [0.2, 0.6, 0.2])], stopReason: 'eos' }], []);
    expect(stops()).toBe(1);
    view.step(1, 0, 1, step(' late', [0.6, 0.2, 0.2]));
    expect([...view.element.querySelectorAll('.gen-tok')].map((t) => t.textContent)).toEqual([' r']);
  });

  it('the webview checks the message', () => {
    const g = { text: '', concepts: CONCEPTS, steps: [], stopReason: 'eos' };
    expect(isToWebviewMessage({ type: 'generationRecorded', generations: [g], steer: [] })).toBe(true);
    expect(isToWebviewMessage({ type: 'generationRecorded', generations: [], steer: [] })).toBe(false);
    expect(isToWebviewMessage({ type: 'generationRecorded', generations: [g, g, g], steer: [] })).toBe(false);
    expect(isToWebviewMessage({ type: 'generationRecorded', generations: [g] })).toBe(false);
  });
});
