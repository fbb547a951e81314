// How a History entry reads in the side bar: "privacy_violation 97% · unsafe · 08:12" for an explanation,
// "generated 32 tokens · ends on cooking · 08:12" for a generation. Pure, so that it is unit-tested.
import type { GenerationHistoryEntry, HistoryEntry } from './historyStore';

/** The verdict, its safety and when: the time alone for today's entries, the date and time before that. */
export function historyRowDescription(e: HistoryEntry, now: Date = new Date()): string {
  const what = e.kind === 'generation'
    ? generationText(e)
    : [`${e.concept} ${(e.confidence * 100).toFixed(0)}%`, safetyWord(e.safe)];
  return [...what, whenText(e.createdAt, now)].filter(Boolean).join(' · ');
}

/** The hover text: the description's facts in full, the bundle and the local date and time, then the prompt. */
export function historyRowTooltip(e: HistoryEntry): string {
  const when = new Date(e.createdAt).toLocaleString();
  const what = e.kind === 'generation'
    ? `Generation: ${generationText(e).join(' · ')}`
    : `${e.concept} (${(e.confidence * 100).toFixed(1)}%) · ${safetyWord(e.safe)}`;
  return `${what} · ${e.bundle} · ${when}\n\n${e.preview}`;
}

/** The side bar's icon (a codicon): generations stand apart from explanations. */
export function historyRowIcon(e: HistoryEntry): string {
  return e.kind === 'generation' ? 'sparkle' : 'history';
}

/** Entries written before the safety was stored (or a bank without a safe list) say "safety unknown", never "unsafe". */
export function safetyWord(safe: boolean | null | undefined): string {
  return safe === true ? 'safe' : safe === false ? 'unsafe' : 'safety unknown';
}

/**
 * "generated 32 tokens", "ends on cooking", "stopped" — or, steered, "steered violence:-4", "32 / 30 tokens",
 * "ends on violence → cooking" (plain → steered).
 */
function generationText(e: GenerationHistoryEntry): string[] {
  const [plain, steered] = e.runs;
  const final = (r: GenerationHistoryEntry['runs'][number] | undefined) => r?.finalConcept ?? '(no token)';
  const stopped = e.runs.some((r) => r.stopReason === 'cancelled') ? ['stopped'] : [];
  if (!steered) return [`generated ${plain?.tokens ?? 0} token${plain?.tokens === 1 ? '' : 's'}`, `ends on ${final(plain)}`, ...stopped];
  return [`steered ${e.steer}`, `${plain.tokens} / ${steered.tokens} tokens`, `ends on ${final(plain)} → ${final(steered)}`, ...stopped];
}

function whenText(createdAt: string, now: Date): string {
  const at = new Date(createdAt);
  if (Number.isNaN(at.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  return sameDay ? time : `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}
