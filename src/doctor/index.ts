/** The doctor: gather the facts (I/O, concurrent), then judge them (pure). */
import { type DoctorOptions, gatherFacts } from './facts.js';
import { type DoctorReport, judge } from './judge.js';

export type { DoctorOptions, Facts, PortFacts, Step } from './facts.js';
export { exposedPorts } from './facts.js';
export type { Cause, DoctorReport, Finding, FindingStatus } from './judge.js';
export { judge } from './judge.js';

/** Runs the whole diagnosis. `source` is the FILE|PORTS argument as the user wrote it. */
export async function runDoctor(options: DoctorOptions, source: string): Promise<DoctorReport & { ms: number }> {
  const started = performance.now();
  const facts = await gatherFacts(options);
  return { ...judge(facts, source), ms: Math.round(performance.now() - started) };
}
