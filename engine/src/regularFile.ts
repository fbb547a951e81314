// Opening a file the user named (a bundle file, a prompt file, a dataset) as untrusted input: only a regular
// file, checked on the opened descriptor, never following a link put there since, never blocking (a FIFO
// opened for reading otherwise waits for a writer forever), and never read past a size limit. A link to
// /dev/zero, a FIFO or a sparse 100 GB file is refused at once instead of hanging or filling memory.
// Callers turn a RegularFileError into the SeerError that fits them (bundle, prompt file, dataset).
import { constants, promises as fs, type Stats } from 'node:fs';

export type RefusalKind = 'missing' | 'not-a-file' | 'too-large' | 'unreadable';

export class RegularFileError extends Error {
  constructor(readonly kind: RefusalKind, message: string, readonly size?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegularFileError';
  }
}

/** Opens `file` (its real path) for reading when it is a regular file of at most `maxBytes`. */
export async function openRegularFile(file: string, maxBytes = Number.POSITIVE_INFINITY): Promise<{ handle: fs.FileHandle; size: number }> {
  const real = await fs.realpath(file).catch(fail);
  // Devices and FIFOs are refused by name first, so that not even opening them has an effect.
  const before = await fs.lstat(real).catch(fail);
  if (!before.isFile()) throw notAFile(before);
  const flags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
  const handle = await fs.open(real, flags).catch(fail);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notAFile(stat);
    if (stat.size > maxBytes) throw new RegularFileError('too-large', `is ${formatBytes(stat.size)}`, stat.size);
    return { handle, size: stat.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The whole of a regular file of at most `maxBytes`, read through the checked descriptor. */
export async function readRegularFile(file: string, maxBytes: number): Promise<Buffer> {
  const { handle, size } = await openRegularFile(file, maxBytes);
  try {
    const bytes = Buffer.allocUnsafeSlow(size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await handle.read(bytes, read, size - read, read);
      if (bytesRead === 0) break; // shrank while read: what is there (a checksum or the parser will say)
      read += bytesRead;
    }
    return bytes.subarray(0, read);
  } catch (err) {
    return fail(err as NodeJS.ErrnoException);
  } finally {
    await handle.close();
  }
}

export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

function fail(err: NodeJS.ErrnoException): never {
  const why = err.code ?? err.message;
  const missing = why === 'ENOENT' || why === 'ENOTDIR';
  throw new RegularFileError(missing ? 'missing' : 'unreadable', `cannot be read (${why})`, undefined, { cause: err });
}

function notAFile(stat: Stats): RegularFileError {
  const kind = stat.isFIFO() ? 'a FIFO (named pipe)' : stat.isCharacterDevice() ? 'a character device' : stat.isBlockDevice() ? 'a block device'
    : stat.isSocket() ? 'a socket' : stat.isDirectory() ? 'a folder' : 'something other than a file';
  return new RegularFileError('not-a-file', `is ${kind}, not a regular file`);
}
