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
