// How a History entry reads in the side bar: "privacy_violation 97% · unsafe · 08:12". Pure, so that it is unit-tested.
import type { HistoryEntry } from './historyStore';

/** The verdict, its safety and when: the time alone for today's entries, the date and time before that. */
export function historyRowDescription(e: HistoryEntry, now: Date = new Date()): string {
  return [`${e.concept} ${(e.confidence * 100).toFixed(0)}%`, safetyWord(e.safe), whenText(e.createdAt, now)]
    .filter(Boolean).join(' · ');
}

/** Entries written before the safety was stored (or a bank without a safe list) say "safety unknown", never "unsafe". */
export function safetyWord(safe: HistoryEntry['safe']): string {
  return safe === true ? 'safe' : safe === false ? 'unsafe' : 'safety unknown';
}

function whenText(createdAt: string, now: Date): string {
  const at = new Date(createdAt);
  if (Number.isNaN(at.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  return sameDay ? time : `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}
