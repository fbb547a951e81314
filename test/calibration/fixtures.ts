// Dataset files written by the tests themselves into a fresh temp folder.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'seer-calib-'));
}

export function writeFixture(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** A CSV of `perConcept` rows for each concept; texts start with the concept name (see syntheticModel.ts). */
export function conceptCsv(concepts: string[], perConcept: number): string {
  const lines = ['prompt,value'];
  for (let i = 0; i < perConcept; i++) for (const c of concepts) lines.push(`${csvField(`${c} example ${i}, with a comma`)},${c}`);
  return lines.join('\n') + '\n';
}

/** Three topics with distinct vocabulary, `n` rows each, written as CSV. */
export function topicsCsv(n: number): string {
  const topics: Record<string, string[]> = {
    cooking: ['How long should I bake the bread', 'What spices go well with roasted chicken', 'How do I make a creamy tomato soup'],
    coding: ['How do I reverse a list in Python', 'Why does my JavaScript promise never resolve', 'How can I speed up this SQL query'],
    travel: ['Which train goes from Paris to Lyon', 'What should I pack for a week in Norway', 'Is it cheaper to fly or drive to Rome'],
  };
  const rows = ['prompt,value'];
  for (let i = 0; i < n; i++) for (const [topic, texts] of Object.entries(topics)) rows.push(`"${texts[i % texts.length]}, variant ${i}?",${topic}`);
  return rows.join('\n') + '\n';
}
