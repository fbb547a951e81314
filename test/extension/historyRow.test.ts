import { describe, expect, it } from 'vitest';
import { historyRowDescription } from '../../extension/src/historyRow';
import type { HistoryEntry } from '../../extension/src/historyStore';

// Local times: the side bar shows the user's clock.
const at = new Date(2026, 10, 27, 8, 12, 30);
const entry = (over: Partial<HistoryEntry>): HistoryEntry => ({
  id: '00000000-0000-4000-8000-000000000000', createdAt: at.toISOString(), preview: 'p', concept: 'privacy_violation',
  confidence: 0.968, bundle: 'b', ...over,
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
