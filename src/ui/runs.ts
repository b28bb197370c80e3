/**
 * What the page runs, through the library's calls (the same ones the commands make): a check
 * (diagnose), making the ports reachable once (expose) or keeping them so (expose with keep, until
 * stopped from the page), opening the host firewall, and removing what porthole made. Each run's
 * progress and outcome are page events, which the server streams to every open page.
 *
 * One run at a time changes things, except that a kept road stays kept while the page checks.
 * What the page made and left in place (a mapping made once, firewall rules) is remembered, so
 * "Remove what porthole made" can take it away again; everything still kept is stopped and undone
 * when the page stops.
 */
import { type Finding, findingSubject, type HopName, hopOf, hopsOfStep } from '../doctor/index.js';
import { type ErrorCode, PortholeError, toPortholeError } from '../errors/index.js';
import type { Mapping } from '../gateway/index.js';
import {
  cleanupLeftovers,
  closeHostFirewall,
  describeMapping,
  diagnose,
  type ExposeResult,
  expose,
  isKeepStatus,
  type KeepStatus,
  openHostFirewall,
  type ProgressEvent,
  type SessionOptions,
  unmapPort,
} from '../library/index.js';

/** The runs the page offers. */
export type JobKind = 'check' | 'expose' | 'keep' | 'firewall' | 'remove';

/** A coded error as the page receives it: code, message, hint, and its data (E_PERMISSION's `commands`). */
export type ErrorJson = { readonly code: ErrorCode; readonly message: string; readonly hint: string } & Record<
  string,
  unknown
>;

/** What the page hears, in order, over its event stream. */
export type PageEvent =
  | {
      readonly type: 'job';
      readonly id: number;
      readonly job: JobKind;
      readonly state: 'started';
      readonly source: string;
    }
  | {
      readonly type: 'job';
      readonly id: number;
      readonly job: JobKind;
      readonly state: 'done';
      readonly result: unknown;
    }
  | {
      readonly type: 'job';
      readonly id: number;
      readonly job: JobKind;
      readonly state: 'failed';
      readonly error: ErrorJson;
    }
  | {
      readonly type: 'progress';
      readonly id: number;
      readonly job: JobKind;
      readonly event: ProgressEvent;
      /** For a doctor's step: the hops of the checklist it checks. */
      readonly hops?: readonly HopName[];
    }
  | { readonly type: 'stopping' };

/** A run under way. */
export interface RunningJob {
  readonly id: number;
  readonly job: JobKind;
  readonly source: string;
}

/** What a page that connects (or reconnects) needs to show where things are. */
export interface PageSnapshot {
  readonly running: readonly RunningJob[];
  /**
   * Every event of the runs under way, and the status of what is kept, oldest first. Runs that
   * ended before the page connected are not replayed: a page opened later starts clean.
   */
  readonly replay: readonly PageEvent[];
}

/** The library options every run of the page shares (its environment; tests' loopback router). */
export type RunOptions = Omit<SessionOptions, 'purpose' | 'onProgress' | 'signal'>;

/** Progress events kept per run for a page that connects late (a run says a few dozen). */
const MAX_REPLAY = 500;
/** Keep statuses said to a page for the kept road (the latest few, as a status list). */
const MAX_KEEP_STATUS = 20;
/** How long stopping waits for a kept road to be undone before giving up on it. */
const STOP_WAIT_MS = 15_000;

interface Job extends RunningJob {
  readonly controller: AbortController;
  readonly events: PageEvent[];
  done: Promise<void>;
}

/** The page's runs and what they made. */
export class PageRuns {
  readonly #options: RunOptions;
  readonly #listeners = new Set<(event: PageEvent) => void>();
  readonly #running = new Map<number, Job>();
  readonly #keepStatus: PageEvent[] = [];
  readonly #mappings: Mapping[] = [];
  readonly #firewall = new Set<string>();
  #next = 1;
  #closed = false;

  constructor(options: RunOptions = {}) {
    this.#options = options;
  }

  /** Hears every page event from now on; returns the function that stops listening. */
  subscribe(listener: (event: PageEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Where things are, for a page that connects now. */
  snapshot(): PageSnapshot {
    const running = [...this.#running.values()];
    return {
      running: running.map(({ id, job, source }) => ({ id, job, source })),
      replay: [...running.flatMap((job) => job.events), ...this.#keepStatus],
    };
  }

  /** Checks the source's ports (the doctor). */
  check(source: string): RunningJob {
    return this.#start('check', source, async (signal, onProgress) =>
      withHops(await diagnose({ ...this.#options, ports: source, signal, onProgress })),
    );
  }

  /** Makes the ports reachable once and proves it; the mappings stay (remembered for removal). */
  expose(source: string): RunningJob {
    return this.#start('expose', source, async (signal, onProgress) => {
      const result = await expose({ ...this.#options, ports: source, keep: false, signal, onProgress });
      if (result.mode === 'direct') this.#remember(result.mappings);
      return exposeView(result);
    });
  }

  /** Makes the ports reachable and keeps them so until stopKeeping (or the page stops), then undoes it. */
  keep(source: string): RunningJob {
    return this.#start('keep', source, async (signal, onProgress) =>
      exposeView(await expose({ ...this.#options, ports: source, keep: true, signal, onProgress })),
    );
  }

  /** Stops keeping (what it made is removed); resolves once it is. */
  async stopKeeping(): Promise<boolean> {
    const kept = [...this.#running.values()].find((job) => job.job === 'keep');
    if (!kept) return false;
    kept.controller.abort(new PortholeError('E_ABORTED', { detail: 'stopped from the page' }));
    await kept.done;
    return true;
  }

  /** Opens the host firewall for the source's inbound ports (E_PERMISSION carries the lines to run). */
  openFirewall(source: string): RunningJob {
    return this.#start('firewall', source, async (signal) => {
      const opened = await openHostFirewall({ ...this.#options, ports: source, signal });
      this.#firewall.add(source);
      return { firewall: opened.change.firewall, rules: opened.change.rules, commands: opened.commands };
    });
  }

  /** Stops what is kept, removes what the page made, and what dead porthole processes left. */
  removeMade(): RunningJob {
    return this.#start('remove', '', async (signal) => {
      const stopped = await this.stopKeeping();
      const removed: string[] = stopped ? ['the port kept open (stopped; what it made was removed)'] : [];
      const failed: { what: string; error: ErrorJson }[] = [];
      for (const mapping of this.#mappings.splice(0)) {
        try {
          await unmapPort(mapping, { ...this.#options, signal });
          removed.push(`port forward ${describeMapping(mapping)}`);
        } catch (error) {
          failed.push({ what: `port forward ${describeMapping(mapping)}`, error: errorJson(error) });
          // Remembered again: the next "Remove what porthole made" tries once more.
          this.#remember([mapping]);
        }
      }
      for (const source of [...this.#firewall]) {
        try {
          const change = await closeHostFirewall({ ...this.#options, ports: source, signal });
          removed.push(`firewall rules for ${source} (${change.container})`);
          this.#firewall.delete(source);
        } catch (error) {
          failed.push({ what: `firewall rules for ${source}`, error: errorJson(error) });
        }
      }
      const leftovers = await cleanupLeftovers({ ...this.#options, signal });
      removed.push(...leftovers.removed.map((item) => `${item.what} (left by porthole process ${item.pid})`));
      failed.push(
        ...leftovers.failed.map((item) => ({
          what: item.what,
          error: errorJson(new PortholeError('E_CLEANUP_FAILED', { detail: item.error?.message ?? '' })),
        })),
      );
      return { removed, failed, skipped: leftovers.skipped };
    });
  }

  /** Stops every run (a kept road is undone, bounded); later requests to start one are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#emit({ type: 'stopping' });
    const jobs = [...this.#running.values()];
    for (const job of jobs) job.controller.abort(new PortholeError('E_ABORTED', { detail: 'the page was stopped' }));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(jobs.map((job) => job.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    this.#listeners.clear();
  }

  #remember(mappings: readonly Mapping[]): void {
    for (const mapping of mappings) {
      const known = this.#mappings.findIndex(
        (m) =>
          m.gateway === mapping.gateway && m.protocol === mapping.protocol && m.externalPort === mapping.externalPort,
      );
      if (known >= 0) this.#mappings.splice(known, 1);
      this.#mappings.push(mapping);
    }
  }

  #emit(event: PageEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /**
   * The run that keeps `kind` from starting now: one run at a time changes things or checks, and
   * a kept road conflicts only with making another (a check may run while it is kept).
   */
  #conflict(kind: JobKind): RunningJob | undefined {
    const running = [...this.#running.values()];
    if (kind === 'keep')
      return running.find((job) => job.job === 'keep' || job.job === 'expose' || job.job === 'remove');
    return running.find((job) => FOREGROUND.has(job.job) || (kind === 'expose' && job.job === 'keep'));
  }

  #start(
    kind: JobKind,
    source: string,
    work: (signal: AbortSignal, onProgress: (event: ProgressEvent) => void) => Promise<unknown>,
  ): RunningJob {
    if (this.#closed) throw new PortholeError('E_UI_BUSY', { detail: 'the page is stopping' });
    const conflict = this.#conflict(kind);
    if (conflict)
      throw new PortholeError('E_UI_BUSY', {
        detail: `${JOB_WORDS[conflict.job]} is under way`,
        data: { running: conflict.job },
      });
    const id = this.#next++;
    const controller = new AbortController();
    const events: PageEvent[] = [];
    const say = (event: PageEvent) => {
      if (events.length < MAX_REPLAY) events.push(event);
      this.#emit(event);
    };
    const job: Job = { id, job: kind, source, controller, events, done: Promise.resolve() };
    this.#running.set(id, job);
    say({ type: 'job', id, job: kind, state: 'started', source });
    const onProgress = (event: ProgressEvent) => {
      const said: PageEvent = {
        type: 'progress',
        id,
        job: kind,
        // A finding decided early carries its hop and subject, as the report's findings do.
        event:
          event.kind === 'finding' ? { ...event, finding: findingsWithHops([event.finding])[0] as PageFinding } : event,
        ...(event.kind === 'step' ? { hops: hopsOfStep(event.step).map((hop) => hop.hop) } : {}),
      };
      if (isKeepStatus(event)) {
        this.#keepStatus.push(said);
        if (this.#keepStatus.length > MAX_KEEP_STATUS) this.#keepStatus.shift();
        this.#emit(said);
      } else say(said);
    };
    job.done = (async () => {
      let outcome: PageEvent;
      try {
        outcome = { type: 'job', id, job: kind, state: 'done', result: await work(controller.signal, onProgress) };
      } catch (error) {
        outcome = { type: 'job', id, job: kind, state: 'failed', error: errorJson(error) };
      }
      this.#running.delete(id);
      if (kind === 'keep') this.#keepStatus.length = 0;
      this.#emit(outcome);
    })();
    return { id, job: kind, source };
  }
}

/** The runs that take the page's attention: one at a time. */
const FOREGROUND: ReadonlySet<JobKind> = new Set(['check', 'expose', 'firewall', 'remove']);

/** The runs in words, for "… is under way". */
const JOB_WORDS: Readonly<Record<JobKind, string>> = {
  check: 'A check',
  expose: 'Making the port reachable',
  keep: 'Keeping the port open',
  firewall: 'Opening the host firewall',
  remove: 'Removing what porthole made',
};

/** A thrown value as the page receives it. */
export function errorJson(error: unknown): ErrorJson {
  return toPortholeError(error).toJSON();
}

/** What the page shows of expose's result (the checklist, the road, what to give users). */
function exposeView(result: ExposeResult) {
  return {
    reachable: result.reachable,
    road: result.road,
    mode: result.mode,
    family: result.family,
    publicAddress: result.publicAddress,
    lanAddress: result.lanAddress,
    give: result.reachable ? result.give : [],
    notes: result.notes,
    tried: result.tried,
    mappings: result.mappings.map(describeMapping),
    portChanges: result.portChanges,
    leftBehind: result.leftBehind,
    kept: result.kept,
    findings: findingsWithHops(result.findings),
    changes: result.changes,
    ms: result.ms,
  };
}

/** A finding as the page shows it: with its hop of the checklist and what it is about (`7001/tcp`). */
export type PageFinding = Finding & { readonly hop: HopName; readonly subject?: string };

function findingsWithHops(findings: readonly Finding[]): PageFinding[] {
  return findings.map((finding) => {
    const subject = findingSubject(finding.id);
    return { ...finding, hop: hopOf(finding.id).hop, ...(subject ? { subject } : {}) };
  });
}

/** A report with its findings' hops. */
function withHops<T extends { readonly findings: readonly Finding[] }>(report: T): T & { findings: PageFinding[] } {
  return { ...report, findings: findingsWithHops(report.findings) };
}

/** Keep statuses are ProgressEvents: the page words them (re-exported for the type's readers). */
export type { KeepStatus };
