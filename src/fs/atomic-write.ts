import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * writeFileAtomic replaces a file so that a reader sees the old content or the new, never a part:
 * write a temp file in the same folder (rename is atomic only within one file system, POSIX
 * rename(2)), fsync it, rename it over the target, then fsync the folder so the rename itself is
 * durable. On failure the temp file is removed and the target is untouched. An existing target
 * keeps its permission bits; a new one gets `mode` less the umask.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, { mode = 0o644 }: { mode?: number } = {}): Promise<void> {
  const target = resolve(file);
  const dir = dirname(target);
  const existing = await stat(target).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  );
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', existing ?? mode);
  try {
    try {
      await fh.writeFile(data);
      if (existing !== undefined) await fh.chmod(existing); // open's mode passes through the umask
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** unlinkDurable removes a file and makes the removal durable (fsync of the folder). */
export async function unlinkDurable(file: string): Promise<void> {
  await unlink(file);
  await syncDir(dirname(resolve(file)));
}

async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on a directory (EINVAL); the rename has still happened.
  } finally {
    await fh?.close();
  }
}
