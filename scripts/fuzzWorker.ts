/**
 * One fuzz target in a worker thread (scripts/fuzz.ts starts it): runs it with V8 block coverage
 * on, posts a heartbeat every 1000 inputs so the parent can tell a hang from a slow target, and
 * posts the report with the coverage of the decoder's source files.
 */
import { Session } from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';
import { loadTarget, runFuzzTarget } from '../test/fuzz/runner.js';

interface Job {
  readonly name: string;
  readonly runs: number;
  readonly seed: number;
  readonly timeLimitMs?: number;
}

interface ScriptCoverage {
  url: string;
  functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[];
}

function post(method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) =>
    session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/**
 * Share of a script's code that ran: V8 ranges nest, the innermost count wins, and only
 * non-blank characters count (so layout does not move the figure).
 */
async function coverageOf(script: ScriptCoverage): Promise<{ covered: number; total: number }> {
  const { scriptSource } = (await post('Debugger.getScriptSource', {
    scriptId: (script as { scriptId?: string }).scriptId,
  })) as {
    scriptSource: string;
  };
  const counts = new Int8Array(scriptSource.length).fill(-1);
  const ranges = script.functions
    .flatMap((fn) => fn.ranges)
    .sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  for (const range of ranges) counts.fill(range.count > 0 ? 1 : 0, range.startOffset, range.endOffset);
  let covered = 0;
  let total = 0;
  for (let i = 0; i < scriptSource.length; i++) {
    if ((counts[i] ?? -1) < 0 || /\s/.test(scriptSource[i] ?? ' ')) continue;
    total++;
    if (counts[i] === 1) covered++;
  }
  return { covered, total };
}

const session = new Session();
session.connect();
const job = workerData as Job;
await post('Profiler.enable');
await post('Debugger.enable');
// Before the decoders load, so functions that never run are reported (count 0) rather than left out.
await post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
const target = await loadTarget(job.name);
const report = runFuzzTarget(target, {
  runs: job.runs,
  seed: job.seed,
  ...(job.timeLimitMs ? { timeLimitMs: job.timeLimitMs } : {}),
  progressEvery: 1000,
  onProgress: (done) => parentPort?.postMessage({ type: 'progress', done }),
});
const { result } = (await post('Profiler.takePreciseCoverage')) as { result: ScriptCoverage[] };
const sources = [...target.decoder.matchAll(/src\/[\w/]+\.ts/g)].map((match) => match[0]);
// A decoder file named in the target, plus the files it delegates to in the same folder (xml.ts).
const coverage: { file: string; covered: number; total: number }[] = [];
for (const script of result) {
  const file = sources.find((source) => script.url.endsWith(source));
  if (file) coverage.push({ file, ...(await coverageOf(script)) });
}
parentPort?.postMessage({ type: 'report', report, coverage });
session.disconnect();
