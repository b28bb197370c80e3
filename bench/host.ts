/**
 * Issue 24's benchmark: how long the Windows adapter takes to turn one inspection's PowerShell
 * output into answers (parse + judge) on 500 rules, and the macOS parsers on their outputs.
 * In-process and on recorded outputs (the fixtures of test/fixtures/host); a real PowerShell
 * start and the cmdlets' own time are not measured here (no Windows in this bench).
 */
import { readFileSync } from 'node:fs';
import type { PortQuestion } from '../src/host/index.js';
import {
  judgeMacosPort,
  parseLsofFields,
  parsePfInfo,
  parsePfRules,
  parsePsCommands,
  parseSocketfilterfw,
} from '../src/host/macos/index.js';
import { judgeWindowsPort, parseWindowsSnapshot } from '../src/host/windows/index.js';
import {
  type ListenSections,
  mergeRules,
  type RuleSections,
  repeatedRules,
  windowsDocument,
  windowsFixture,
} from '../test/fixtures/host/windows/document.js';
import { median, ms } from './measure.js';

/** Runs per figure (bounded); the first few warm the JIT and count like the rest. */
const RUNS = 200;
const RULES = 500;
/** Issue 24's target for parse + judge of an inspection with 500 rules. */
const TARGET_MS = 50;

const QUESTIONS: readonly PortQuestion[] = [
  { protocol: 'tcp', port: 5655 },
  { protocol: 'tcp', port: 3389 },
  { protocol: 'udp', port: 5655 },
];
const SERVER = 'C:\\Program Files\\MediaServer\\1.3\\MediaServer.exe';

function medianMs(operation: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    operation();
    times.push(performance.now() - started);
  }
  return median(times);
}

const macos = (name: string) => readFileSync(new URL(`../test/fixtures/host/macos/${name}`, import.meta.url), 'utf8');

/** The section for docs/BENCHMARKS.md. */
export async function benchHost(): Promise<string> {
  // Every repeated rule made enabled and inbound, so the judge walks all 500 (the worst case):
  // the capture's disabled and outbound rules would otherwise be read and left out.
  const repeated = repeatedRules(RULES);
  const walked: RuleSections = {
    ...repeated,
    rules: (repeated.rules as Record<string, unknown>[]).map((rule) => ({ ...rule, Enabled: 1, Direction: 1 })),
  };
  const document = windowsDocument({
    listen: windowsFixture('schema-listen-mediaserver.json') as ListenSections,
    networks: windowsFixture('schema-networks-private.json'),
    rules: mergeRules(walked, windowsFixture('schema-rules-mediaserver-allow.json') as RuleSections),
  });
  const parsed = parseWindowsSnapshot(document);
  const walkedRules = parsed.ok ? (parsed.snapshot.rules?.length ?? 0) : 0;
  const parseOnly = medianMs(() => parseWindowsSnapshot(document));
  const parseAndJudge = medianMs(() => {
    const parsed = parseWindowsSnapshot(document);
    if (!parsed.ok) throw new Error(parsed.problem);
    for (const question of QUESTIONS) judgeWindowsPort(parsed.snapshot, question, [SERVER]);
  });

  const lsof = macos('schema-lsof-listen-5655-wildcard.txt');
  const ps = macos('schema-ps-mediaserver.txt');
  const alfText = macos('kolide-getglobalstate-getblockall.txt') + macos('nix-darwin-1705-listapps.txt');
  const pfInfo = macos('privacy-guides-pfctl-s-info.stdout.txt');
  const pfRules = macos('schema-pfctl-s-rules-block-5655.txt');
  const macParse = medianMs(() => {
    parseLsofFields(lsof);
    parsePsCommands(ps);
    parseSocketfilterfw(alfText);
    parsePfInfo(pfInfo);
    parsePfRules(pfRules);
  });
  const macJudge = medianMs(() => {
    const facts = {
      alf: parseSocketfilterfw(alfText),
      pf: { status: parsePfInfo(pfInfo), rules: parsePfRules(pfRules) },
    };
    for (const question of QUESTIONS) judgeMacosPort(facts, question, SERVER, '5655');
  });

  return [
    '## Host adapters: Windows and macOS (issue 24)',
    '',
    `In-process, on recorded outputs; median of ${RUNS} runs. The Windows document holds ${RULES} rules (the eight rules`,
    'of a real Windows Server 2022 capture and their filters, repeated, each made enabled and inbound so the judge walks',
    `all of them: ${walkedRules} with porthole's allow rule) and ${QUESTIONS.length} ports are judged; it is ${Math.round(document.length / 1024)} KiB of JSON (the capture's rows carry`,
    "more fields than porthole's script selects). A real PowerShell start (0.3-1 s) and the cmdlets' own time come on top",
    'on Windows, once per inspection.',
    '',
    '| step | median |',
    '| --- | --- |',
    `| Windows: parse the ${RULES}-rule document | ${ms(parseOnly)} |`,
    `| Windows: parse + judge ${QUESTIONS.length} ports | ${ms(parseAndJudge)} |`,
    `| macOS: parse lsof fields, ps, socketfilterfw (9 apps), pfctl info and rules | ${ms(macParse)} |`,
    `| macOS: parse socketfilterfw and pf + judge ${QUESTIONS.length} ports | ${ms(macJudge)} |`,
    '',
    `Goal: Windows parse + judge under ${TARGET_MS} ms — ${parseAndJudge < TARGET_MS ? 'met' : 'NOT met'}.`,
  ].join('\n');
}
