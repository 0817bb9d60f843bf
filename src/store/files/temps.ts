import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The temporary files writeFileAtomic makes: .<name>.<pid>.<8 hex>.tmp, next to the target. */
const TEMP = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * removeStaleTemps deletes the temporary files an atomic write leaves behind when its process was
 * killed between writing the temp file and renaming it (kill -9, power loss): the target file is
 * intact, the temp file is garbage. Files of processes still running (another replica) are left
 * alone. Returns the paths removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      removed.push(...(await removeStaleTemps(path)));
      continue;
    }
    const m = TEMP.exec(e.name);
    if (!m || alive(Number(m[1]))) continue;
    await rm(path, { force: true });
    removed.push(path);
  }
  return removed;
}
