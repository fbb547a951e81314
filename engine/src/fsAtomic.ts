// Atomic file writes: write a temp file beside the target, then rename, so readers never see half a file.
// The temp name is random and opened exclusively ('wx'), so nothing planted at a guessable name (a
// symlink, another writer's temp file) can redirect or mix into the write; rename replaces a symlink at
// the target instead of writing through it.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** fsync errors that only say the file system cannot sync (some network and FUSE mounts): not a failed write. */
const SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'ENOSYS']);

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  // A long base name is cut so that the temp name stays within the usual 255-byte limit.
  const tmp = path.join(dir, `.${path.basename(file).slice(0, 100)}.${randomBytes(12).toString('hex')}.tmp`);
  // Keep the target's permissions (not its setuid/setgid bits); a new file gets the default, like fs.writeFile.
  const targetMode = await fs.stat(file).then((s) => s.mode & 0o777, () => undefined);
  const handle = await fs.open(tmp, 'wx', targetMode ?? 0o666); // Throws before creating anything: nothing to clean up.
  try {
    try {
      await handle.writeFile(data);
      if (targetMode !== undefined) await handle.chmod(targetMode); // The umask applied at creation; undo it.
      await handle.sync().catch((e: NodeJS.ErrnoException) => {
        if (!SYNC_UNSUPPORTED.has(e.code ?? '')) throw e;
      });
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
