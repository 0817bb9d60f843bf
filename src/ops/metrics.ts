import { collectDefaultMetrics, Counter, Gauge, Registry as PromRegistry } from 'prom-client';
import { sendText, type Route } from '../http/server.js';

/**
 * One prom-client Registry per server, passed to every module that has metrics: modules register
 * their own (`counterFrom(metrics, ...)`), and `/metrics` serves them all. Hot paths keep plain
 * numbers and let prom-client read them at scrape time, never `inc()` per query.
 */

/** MetricsRegistry is the shared prom-client registry. */
export type MetricsRegistry = PromRegistry;

/** Labels maps label names to values; every value must come from a bounded set. */
export type Labels<L extends string> = Partial<Record<L, string | number>>;

/** Sample is one labelled value read at scrape time. */
export type Sample<L extends string> = readonly [Labels<L>, number];

/**
 * createMetricsRegistry makes the registry with the process metrics (process_*, nodejs_*: the
 * names every Node.js dashboard knows) and `svcdns_build_info`.
 */
export function createMetricsRegistry({ version, processMetrics = true }: { version: string; processMetrics?: boolean }): MetricsRegistry {
  const registry = new PromRegistry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const info = new Gauge({ name: 'svcdns_build_info', help: 'A metric with a constant 1 value labelled by version and Node.js runtime.', labelNames: ['version', 'nodejs'], registers: [registry] });
  info.set({ version, nodejs: process.version }, 1);
  return registry;
}

/**
 * counterFrom registers a counter whose values are read when Prometheus scrapes, from numbers
 * the module keeps itself: `read` returns one number (no labels) or labelled samples.
 */
export function counterFrom<L extends string = never>(
  registry: MetricsRegistry,
  { name, help, labelNames = [], read }: { name: string; help: string; labelNames?: readonly L[]; read: () => number | Iterable<Sample<L>> },
): Counter<L> {
  return new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (typeof v === 'number') this.inc(v);
      else for (const [labels, n] of v) this.inc(labels, n);
    },
  });
}

/** gaugeFrom registers a gauge read at scrape time, like counterFrom. */
export function gaugeFrom<L extends string = never>(
  registry: MetricsRegistry,
  { name, help, labelNames = [], read }: { name: string; help: string; labelNames?: readonly L[]; read: () => number | Iterable<Sample<L>> },
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (typeof v === 'number') this.set(v);
      else for (const [labels, n] of v) this.set(labels, n);
    },
  });
}

/**
 * metricsRoutes serves the registry at GET /metrics in the Prometheus text format; `text`, when
 * given, makes the body instead (serve --workers: the registry plus the other workers' DNS counters).
 */
export function metricsRoutes({ registry, text }: { registry: MetricsRegistry; text?: () => Promise<string> }): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handle: async ({ res }) => sendText(res, 200, text ? await text() : await registry.metrics(), registry.contentType),
    },
  ];
}
