/** The doctor: gather the facts (I/O, concurrent, through the run's sources), then judge them (pure). */
import { type DoctorOptions, gatherFacts } from './facts.js';
import { type DoctorReport, judge } from './judge.js';
import type { FactSources } from './sources.js';

export type { DoctorOptions, Facts, OutsideValue, PortFacts, SeenMapping, Step } from './facts.js';
export { exposedPorts, MAX_CHECKED_PER_RANGE, skipped, step, uncheckedRanges } from './facts.js';
export type { Cause, DoctorReport, Finding, FindingStatus } from './judge.js';
export { hostFixText, judge } from './judge.js';
export type { Change, FactSources, StepEvent, StepName } from './sources.js';

/**
 * Runs the whole diagnosis in a run: the facts through its sources, then the judgement. The
 * report lists what the diagnosis had to change (`changes`), never silently.
 */
export async function runDoctor(
  options: DoctorOptions,
  sources: FactSources & { readonly changes: readonly import('./sources.js').Change[] },
): Promise<DoctorReport & { ms: number }> {
  const started = performance.now();
  const before = sources.changes.length;
  const facts = await gatherFacts(options, sources);
  const report = judge(facts, options.source ?? '', sources.changes.slice(before));
  return { ...report, ms: Math.round(performance.now() - started) };
}
