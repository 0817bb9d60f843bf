import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/fuzz.ts', import.meta.url));

// The shortened run of `npm run fuzz` (which sends 1,000,000): a real `svcdns serve`, 20,000
// malformed, truncated, mutated and random messages over UDP and TCP, a good query checked after
// every batch.
describe('fuzz: a shortened run against a real serve', () => {
  it('20,000 bad messages: no crash, every good query answered correctly, nothing logged at error', async function () {
    this.timeout(120_000);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', SCRIPT, '--messages', '20000', '--batch', '5000', '--seed', '20261126', '--json'], { timeout: 110_000 });
    const r = JSON.parse(stdout.trim().split("\n").pop()!) as { messages: number; udp: number; tcp: number; seenByServer: number; crashes: number; serverErrors: number; problems: string[]; generators: Record<string, number>; heapAfterGcMiB: { before: number; after: number } };
    expect(r.problems).to.deep.equal([]);
    expect([r.messages, r.crashes, r.serverErrors]).to.deep.equal([20000, 0, 0]);
    expect(r.udp).to.be.above(0);
    expect(r.tcp).to.be.above(0);
    // The server read (nearly) every message: the kernel did not drop them for us.
    expect(r.seenByServer).to.be.at.least(19_000);
    // No leak: the heap in use after a full GC stays where it was (the script fails past 8 MiB).
    expect(r.heapAfterGcMiB.after - r.heapAfterGcMiB.before).to.be.below(8);
    expect(Object.keys(r.generators)).to.include.members(['random', 'truncated', 'bit flips', 'byte edits', 'header fields', 'names', 'records', 'response bit']);
  });
});
