import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from '../../engine/src/fsAtomic';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'seer-atomic-'));
const temps = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('writeFileAtomic', () => {
  it('writes a new file and replaces an existing one, keeping its mode', async () => {
    const dir = fresh();
    const file = path.join(dir, 'sub', 'out.json');
    await writeFileAtomic(file, 'first');
    expect(readFileSync(file, 'utf8')).toBe('first');
    chmodSync(file, 0o640);
    await writeFileAtomic(file, new TextEncoder().encode('second'));
    expect(readFileSync(file, 'utf8')).toBe('second');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(temps(path.dirname(file))).toEqual([]);
  });

  it('lets two concurrent writes to one target both succeed, leaving one of them whole', async () => {
    const dir = fresh();
    const file = path.join(dir, 'shared.txt');
    // Large enough that the two writes overlap on disk rather than finishing one after the other.
    const a = 'a'.repeat(4 << 20);
    const b = 'b'.repeat(3 << 20);
    const clock = vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000); // Both in the same millisecond.
    try {
      await Promise.all([writeFileAtomic(file, a), writeFileAtomic(file, b)]);
    } finally {
      clock.mockRestore();
    }
    const text = readFileSync(file, 'utf8');
    expect(text === a || text === b).toBe(true);
    expect(temps(dir)).toEqual([]);
  });

  it('leaves no temp file, and the old content, when the write fails', async () => {
    const dir = fresh();
    const file = path.join(dir, 'target');
    mkdirSync(file); // A folder in the target's place: the final rename fails.
    writeFileSync(path.join(file, 'inside.txt'), 'kept');
    await expect(writeFileAtomic(file, 'new')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['target']);
    expect(readFileSync(path.join(file, 'inside.txt'), 'utf8')).toBe('kept');
  });

  it('replaces a symlink at the target instead of writing through it', async () => {
    const dir = fresh();
    const victim = path.join(fresh(), 'victim.txt');
    writeFileSync(victim, 'untouched');
    const file = path.join(dir, 'link.txt');
    symlinkSync(victim, file);
    await writeFileAtomic(file, 'written');
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('written');
  });
});
