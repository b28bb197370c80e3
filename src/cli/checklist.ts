/**
 * The doctor's checklist as a person reads it in a terminal (doctor, expose): one line per
 * finding, the fix under each failure, what the diagnosis changed, the verdict last. The words are
 * the findings' own (src/doctor/judge.ts), so the page and the terminal say the same thing.
 */
import type { DoctorReport } from '../doctor/index.js';
import type { Diagnosis, ProgressEvent } from '../library/index.js';
import type { Output } from './output.js';

const MARK = { ok: '✔', warn: '!', fail: '✖', skip: '–' } as const;
const MARK_STYLE = { ok: 'green', warn: 'yellow', fail: 'red', skip: 'dim' } as const;

/** The checklist: one line per finding, the fix under each failure, the changes, then the verdict. */
export function checklistText(output: Output, title: string, report: Diagnosis): string {
  const lines = [title];
  const width = Math.max(...report.findings.map((f) => f.id.length), 8);
  for (const f of report.findings) {
    lines.push(`  ${output.style(MARK_STYLE[f.status], MARK[f.status])} ${f.id.padEnd(width)}  ${f.summary}`);
    if (f.changed) lines.push(`    ${' '.repeat(width)}  changed: ${f.changed}`);
    if (f.fix && (f.status === 'fail' || f.status === 'warn')) lines.push(`    ${' '.repeat(width)}  fix: ${f.fix}`);
  }
  for (const change of report.changes)
    lines.push(
      output.style(
        'yellow',
        `Changed on the ${change.on}: ${change.what} (${change.why})${change.found ? `: ${change.found}` : ''}.`,
      ),
    );
  const failing = report.findings.find((f) => f.status === 'fail');
  const unproven = report.findings.find((f) => f.id.startsWith('outside-in:') && f.status === 'warn');
  // Reachable is about the inbound road; the manifest's other needs that fail are named beside it.
  const otherNeeds = report.findings.filter((f) => f.status === 'fail').map((f) => `${f.id} (${f.cause ?? 'fails'})`);
  lines.push(
    report.reachable
      ? output.style('green', `Reachable${report.publicAddress ? ` at ${report.publicAddress}` : ''}, proven.`) +
          (otherNeeds.length > 0 ? ` ${output.style('red', `Other needs fail: ${otherNeeds.join(', ')}.`)}` : '')
      : !failing && unproven
        ? output.style('yellow', 'Open from the internet, but not proven to reach this computer.') +
          ` (${report.findings.length} checks in ${(report.ms / 1000).toFixed(1)} s)`
        : output.style('red', `Not reachable${failing?.cause ? `: ${failing.cause}` : ''}.`) +
          ` (${report.findings.length} checks in ${(report.ms / 1000).toFixed(1)} s)`,
  );
  return lines.join('\n');
}

/** Exit 0: every port proven reachable (or none asked) and no other need of the manifest fails. */
export function diagnosisPasses(report: DoctorReport, ports: number): boolean {
  return (report.reachable || ports === 0) && !report.findings.some((f) => f.status === 'fail');
}

/**
 * A terminal's progress line for a run's steps ("checking the router…"); nothing off a terminal.
 * Returns the listener and a function that clears the line.
 */
export function progressLine(output: Output): { onProgress: (event: ProgressEvent) => void; clear: () => void } {
  const running = new Map<string, string>();
  return {
    onProgress: (event) => {
      if (event.kind !== 'step') return;
      if (event.state === 'started') running.set(event.step, event.label);
      else running.delete(event.step);
      const now = [...running.values()];
      output.progress(now.length > 0 ? `checking ${now.join(', ')}…` : undefined);
    },
    clear: () => output.progress(undefined),
  };
}
