/** The doctor: gather the facts (I/O, concurrent, through the run's sources), then judge them (pure). */
import { type DoctorOptions, gatherFacts } from './facts.js';
import { type DoctorReport, type Finding, judge } from './judge.js';
import type { FactSources } from './sources.js';

export type { DoctorOptions, Facts, OutsideValue, PortFacts, SeenMapping, Step } from './facts.js';
export {
  exposedPorts,
  MAX_CHECKED_PER_RANGE,
  renewalChanges,
  skipped,
  step,
  uncheckedRanges,
} from './facts.js';
export { findingSubject, HOPS, type Hop, type HopName, hopOf, hopsOfStep } from './hops.js';
export type { Cause, DoctorReport, Finding, FindingStatus } from './judge.js';
export { hostFixText, judge } from './judge.js';
export type { Change, FactSources, StepEvent, StepName } from './sources.js';

/** Findings whose verdict the first phase alone decides. */
const FIRST_PHASE = /^(listener:|firewall:|gateway$|nat$)/;

/**
 * Runs the whole diagnosis in a run: the facts through its sources, then the judgement. The
 * report lists what the diagnosis had to change (`changes`), never silently.
 */
export async function runDoctor(
  options: DoctorOptions,
  sources: FactSources & {
    readonly changes: readonly import('./sources.js').Change[];
    /** Hears each finding decided early (optional). */
    finding?(finding: Finding): void;
  },
): Promise<DoctorReport & { ms: number }> {
  const started = performance.now();
  const before = sources.changes.length;
  // The findings that depend only on the first phase (the host, the router, the NAT) are final
  // once it is in: said at once (the page shows each hop's verdict as it comes), judged by the same rules.
  const firstPhase = sources.finding
    ? (facts: import('./facts.js').Facts) => {
        for (const finding of judge(facts, options.source ?? '').findings)
          if (FIRST_PHASE.test(finding.id)) sources.finding?.(finding);
      }
    : undefined;
  const facts = await gatherFacts(options, sources, firstPhase);
  const report = judge(facts, options.source ?? '', sources.changes.slice(before));
  return { ...report, ms: Math.round(performance.now() - started) };
}
