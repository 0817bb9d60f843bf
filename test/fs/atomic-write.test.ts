import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/fs/atomic-write.js';

describe('fs: writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-atomic-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates a new file with the content', async () => {
    await writeFileAtomic(join(dir, 'a'), 'x=1\n');
    expect(await readFile(join(dir, 'a'), 'utf8')).to.equal('x=1\n');
    expect(await readdir(dir)).to.deep.equal(['a']);
  });
  it('replaces an existing file through a new inode', async () => {
    await writeFile(join(dir, 'a'), 'old\n');
    const before = (await stat(join(dir, 'a'))).ino;
    await writeFileAtomic(join(dir, 'a'), 'new\n');
    expect((await stat(join(dir, 'a'))).ino).to.not.equal(before);
    expect(await readFile(join(dir, 'a'), 'utf8')).to.equal('new\n');
  });
  it('a failed rename (the target is a folder) leaves no temp file and throws', async () => {
    await mkdir(join(dir, 'a'));
    await writeFile(join(dir, 'a', 'inside'), '');
    let err: unknown;
    await writeFileAtomic(join(dir, 'a'), 'x\n').catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(Error);
    expect(await readdir(dir)).to.deep.equal(['a']);
  });
  it('a missing folder throws ENOENT and creates nothing', async () => {
    let err: NodeJS.ErrnoException | undefined;
    await writeFileAtomic(join(dir, 'no', 'a'), 'x').catch((e: NodeJS.ErrnoException) => (err = e));
    expect(err?.code).to.equal('ENOENT');
    expect(await readdir(dir)).to.deep.equal([]);
  });
});
