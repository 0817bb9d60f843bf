// Preloaded into `svcdns serve` by bench/scale.ts (node --import): measures how long the event
// loop stalls. SIGUSR2 prints the longest delay since the previous SIGUSR2 as one JSON line on
// stderr and starts a new window. Not part of the product.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
process.on('SIGUSR2', () => {
  const ms = (ns) => Math.round((ns / 1e6) * 100) / 100;
  process.stderr.write(`${JSON.stringify({ loopProbe: { maxMs: ms(h.max), p99Ms: ms(h.percentile(99)), count: h.count } })}\n`);
  h.reset();
});
