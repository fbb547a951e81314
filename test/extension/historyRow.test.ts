import { describe, expect, it } from 'vitest';
import { historyRowDescription, historyRowIcon, historyRowTooltip } from '../../extension/src/historyRow';
import type { ExplainHistoryEntry, GenerationHistoryEntry } from '../../extension/src/historyStore';

// Local times: the side bar shows the user's clock.
const at = new Date(2026, 10, 27, 8, 12, 30);
const entry = (over: Partial<ExplainHistoryEntry>): ExplainHistoryEntry => ({
  kind: 'explain', id: '00000000-0000-4000-8000-000000000000', createdAt: at.toISOString(), preview: 'p', concept: 'privacy_violation',
  confidence: 0.968, bundle: 'b', ...over,
});
const generation = (over: Partial<GenerationHistoryEntry>): GenerationHistoryEntry => ({
  kind: 'generation', id: '00000000-0000-4000-8000-000000000001', createdAt: at.toISOString(), preview: 'how do I', bundle: 'b',
  steer: '', runs: [{ tokens: 32, finalConcept: 'cooking', stopReason: 'max-new-tokens' }], ...over,
});

describe('historyRowDescription (a History row in the side bar)', () => {
  it('says the verdict, its safety and the time of an entry from today', () => {
    const later = new Date(2026, 10, 27, 17, 0);
    expect(historyRowDescription(entry({ safe: false }), later)).toBe('privacy_violation 97% · unsafe · 08:12');
    expect(historyRowDescription(entry({ safe: true, concept: 'algebra', confidence: 0.5 }), later)).toBe('algebra 50% · safe · 08:12');
  });

  it('says "safety unknown" for a bank without a safe list and for entries stored before safety was', () => {
    const later = new Date(2026, 10, 27, 9, 0);
    expect(historyRowDescription(entry({ safe: null }), later)).toBe('privacy_violation 97% · safety unknown · 08:12');
    expect(historyRowDescription(entry({}), later)).toBe('privacy_violation 97% · safety unknown · 08:12');
  });

  it('adds the date for an older entry and leaves out a time it cannot read', () => {
    expect(historyRowDescription(entry({ safe: false }), new Date(2026, 10, 28, 8, 0))).toBe('privacy_violation 97% · unsafe · 2026-11-27 08:12');
    expect(historyRowDescription(entry({ safe: false, createdAt: 'yesterday' }), at)).toBe('privacy_violation 97% · unsafe');
  });
});

describe('a generation in the History', () => {
  const later = new Date(2026, 10, 27, 17, 0);

  it('says how many tokens, the concept the trace ended on, and "stopped" for a cancelled one', () => {
    expect(historyRowDescription(generation({}), later)).toBe('generated 32 tokens · ends on cooking · 08:12');
    const stopped = generation({ runs: [{ tokens: 1, finalConcept: 'violence', stopReason: 'cancelled' }] });
    expect(historyRowDescription(stopped, later)).toBe('generated 1 token · ends on violence · stopped · 08:12');
    const none = generation({ runs: [{ tokens: 0, finalConcept: null, stopReason: 'eos' }] });
    expect(historyRowDescription(none, later)).toBe('generated 0 tokens · ends on (no token) · 08:12');
  });

  it('a steered twin: the terms, both token counts and both final concepts, plain → steered', () => {
    const steered = generation({
      steer: 'violence:-4',
      runs: [{ tokens: 32, finalConcept: 'violence', stopReason: 'max-new-tokens' }, { tokens: 30, finalConcept: 'cooking', stopReason: 'eos' }],
    });
    expect(historyRowDescription(steered, later)).toBe('steered violence:-4 · 32 / 30 tokens · ends on violence → cooking · 08:12');
  });

  it('stands apart from explanations by its icon and its tooltip', () => {
    expect(historyRowIcon(generation({}))).not.toBe(historyRowIcon(entry({})));
    expect(historyRowTooltip(generation({}))).toMatch(/^Generation: generated 32 tokens · ends on cooking · b · .*\n\nhow do I$/);
    expect(historyRowTooltip(entry({ safe: false }))).toMatch(/^privacy_violation \(96\.8%\) · unsafe · b · .*\n\np$/);
  });
});
