/** The check service's Prometheus metrics. */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The metrics a checker keeps. */
export interface CheckerMetrics {
  readonly registry: Registry;
  readonly probes: Counter<'protocol' | 'state'>;
  readonly probeSeconds: Histogram<'protocol' | 'state'>;
  readonly checks: Counter<'outcome'>;
  readonly refused: Counter<'reason'>;
}

/** A fresh registry with process metrics and the checker's own. */
export function createMetrics(): CheckerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'porthole_' });
  return {
    registry,
    probes: new Counter({
      name: 'porthole_probes_total',
      help: 'Ports probed, by verdict',
      labelNames: ['protocol', 'state'],
      registers: [registry],
    }),
    probeSeconds: new Histogram({
      name: 'porthole_probe_seconds',
      help: 'Time to a verdict per port',
      labelNames: ['protocol', 'state'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    checks: new Counter({
      name: 'porthole_checks_total',
      help: 'Check requests answered',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'porthole_refused_total',
      help: 'Requests refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
