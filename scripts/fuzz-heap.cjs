// Preloaded into the server by scripts/fuzz.ts (node --expose-gc -r ...): on SIGUSR2 it runs a
// full garbage collection and prints the heap on stderr, so the fuzzer can tell a leak (heap
// still growing after GC) from V8 keeping freed pages (RSS growing, heap flat).
'use strict';
process.on('SIGUSR2', () => {
  global.gc();
  const m = process.memoryUsage();
  process.stderr.write(`fuzz-heap ${JSON.stringify({ heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
});
