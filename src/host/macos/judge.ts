/**
 * Would macOS let an inbound connection from the internet reach this port? Two filters, and a
 * block in either is final: the Application Firewall, which allows or blocks the PROGRAM that
 * listens (the finding names it, and the fix adds or unblocks it), and pf, when it is enabled,
 * whose rules are walked by pf.ts. What could not be read (pf's rules need root, a program the
 * firewall has not listed) keeps the answer uncertain and says why. Pure.
 */
import type { FirewallAnswer, FirewallPart, HostFix, PortQuestion } from '../types.js';
import { type AlfState, alfEntryFor, bundleOf } from './alf.js';
import { SOCKETFILTERFW, shQuote } from './commands.js';
import { evaluatePf, type PfRule, type PfStatus } from './pf.js';

/** The Application Firewall's name in answers. */
export const ALF = 'macOS Application Firewall';
/** pf's name in answers. */
export const PF = 'pf';

const FIREWALL_SETTINGS = 'System Settings → Network → Firewall → Options';

/** What was read about pf. */
export interface PfFacts {
  /** undefined: `pfctl -s info` could not be read (it needs root). */
  readonly status: PfStatus;
  /** The main ruleset, when pf is enabled and its rules could be read. */
  readonly rules: readonly PfRule[] | undefined;
  /** Why pf's status or rules are missing. */
  readonly problem?: string;
}

/** What the judge needs to know about the host. */
export interface MacosFirewallFacts {
  /** undefined: socketfilterfw could not be run or said nothing readable. */
  readonly alf: AlfState | undefined;
  readonly alfProblem?: string;
  readonly pf: PfFacts;
}

type Part = FirewallPart;

/** What the Application Firewall should be told about a program: its bundle when it has one. */
function alfTarget(program: string): string {
  return bundleOf(program) ?? program;
}

function alfAddFix(program: string): HostFix {
  const target = shQuote(alfTarget(program));
  return {
    text: `Add ${alfTarget(program)} to the Application Firewall and allow it incoming connections`,
    commands: [`sudo ${SOCKETFILTERFW} --add ${target}`, `sudo ${SOCKETFILTERFW} --unblockapp ${target}`],
    shell: 'sh',
    elevated: true,
    settings: `${FIREWALL_SETTINGS} → + → ${alfTarget(program)} → Allow incoming connections`,
  };
}

function judgeAlf(
  alf: AlfState | undefined,
  problem: string | undefined,
  program: string | undefined,
  label: string,
): Part {
  if (!alf || alf.state === undefined) {
    return {
      firewall: ALF,
      verdict: 'unknown',
      reason: 'unreadable',
      summary: `the macOS Application Firewall's settings could not be read${problem ? ` (${problem})` : ''}`,
      evidence: [...(problem ? [problem] : []), ...(alf?.warnings ?? [])],
      unsure: ['the Application Firewall was not read'],
    };
  }
  const settings = `Application Firewall: state ${alf.state}, block all ${alf.blockAll ?? '?'}, stealth ${alf.stealth ?? '?'}, signed built-in ${alf.allowSignedBuiltIn ?? '?'}, signed downloaded ${alf.allowSignedDownloaded ?? '?'}`;
  const evidence = [settings, ...alf.warnings];
  if (alf.state === 0) {
    return {
      firewall: ALF,
      verdict: 'accept',
      reason: 'not-filtering',
      summary: 'the macOS Application Firewall is off',
      evidence,
      unsure: [],
    };
  }
  if (alf.state === 2 || alf.blockAll === true) {
    return {
      firewall: ALF,
      verdict: 'drop',
      reason: 'block-all-incoming',
      summary: `the macOS Application Firewall blocks all incoming connections ("Block all incoming connections" is on), so ${label} is refused whatever program listens`,
      evidence,
      unsure: [],
      fix: {
        text: 'Turn off "Block all incoming connections"',
        commands: [`sudo ${SOCKETFILTERFW} --setblockall off`],
        shell: 'sh',
        elevated: true,
        settings: `${FIREWALL_SETTINGS} → clear "Block all incoming connections"`,
      },
    };
  }
  if (!program) {
    return {
      firewall: ALF,
      verdict: 'unknown',
      reason: 'unreadable',
      summary: `the macOS Application Firewall is on and decides by program, and the program listening on ${label} is not known`,
      evidence,
      unsure: ["the listening program is not known (run the doctor as root to see other users' processes)"],
    };
  }
  if (!alf.apps) {
    return {
      firewall: ALF,
      verdict: 'unknown',
      reason: 'unreadable',
      summary: `the macOS Application Firewall is on, and its list of programs could not be read`,
      evidence,
      unsure: ['socketfilterfw --listapps was not read'],
    };
  }
  const entry = alfEntryFor(alf.apps, program);
  const programEvidence = [...evidence, `program listening: ${program}`];
  if (entry?.allowed) {
    return {
      firewall: ALF,
      verdict: 'accept',
      reason: 'allowed',
      summary: `the macOS Application Firewall allows incoming connections to ${entry.path}`,
      evidence: [...programEvidence, `listed: ${entry.path} (allow)`],
      unsure: [],
    };
  }
  if (entry) {
    const target = shQuote(entry.path);
    return {
      firewall: ALF,
      verdict: 'drop',
      reason: 'app-blocked',
      summary: `the macOS Application Firewall blocks incoming connections to ${entry.path}, the program listening on ${label}`,
      evidence: [...programEvidence, `listed: ${entry.path} (block)`],
      unsure: [],
      fix: {
        text: `Allow ${entry.path} incoming connections`,
        commands: [`sudo ${SOCKETFILTERFW} --unblockapp ${target}`],
        shell: 'sh',
        elevated: true,
        settings: `${FIREWALL_SETTINGS} → ${entry.path} → Allow incoming connections`,
      },
    };
  }
  // Not listed: macOS lets a signed program in when signed software is allowed (porthole cannot
  // check a signature here), and otherwise asks in a dialog that a headless server never answers.
  const signedMayPass = alf.allowSignedBuiltIn !== false || alf.allowSignedDownloaded !== false;
  return {
    firewall: ALF,
    verdict: signedMayPass ? 'unknown' : 'drop',
    reason: 'app-not-listed',
    summary: signedMayPass
      ? `the macOS Application Firewall does not list ${program}: it lets it in only if the program is signed (signed software is allowed), otherwise it asks on screen`
      : `the macOS Application Firewall does not list ${program} and lets no unlisted program in without someone answering its prompt`,
    evidence: programEvidence,
    unsure: ["whether the program's signature lets it in (or someone answers the prompt) is not known"],
    fix: alfAddFix(program),
  };
}

/**
 * pf's part. pf that could not be read (its status and rules need root) never decides on its own:
 * the answer stays what the Application Firewall says, marked uncertain with the reason.
 */
function judgePf(pf: PfFacts, question: PortQuestion, source: string): Part {
  if (pf.status === 'disabled') {
    return {
      firewall: PF,
      verdict: 'accept',
      reason: 'not-filtering',
      summary: 'pf is disabled',
      evidence: ['pf: disabled'],
      unsure: [],
    };
  }
  if (pf.status === undefined) {
    const why = pf.problem ?? 'pfctl -s info was not read';
    return {
      firewall: PF,
      verdict: 'accept',
      reason: 'unreadable',
      summary: `pf's status could not be read (${why})`,
      evidence: [`pf: not read (${why})`],
      unsure: [`pf: ${why}`],
    };
  }
  if (!pf.rules) {
    const why = pf.problem ?? 'pfctl -s rules was not read';
    return {
      firewall: PF,
      verdict: 'accept',
      reason: 'unreadable',
      summary: `pf is enabled and its rules could not be read (${why})`,
      evidence: ['pf: enabled', `pf rules: not read (${why})`],
      unsure: [`pf rules: ${why}`],
    };
  }
  const result = evaluatePf(pf.rules, question.protocol, question.port);
  const evidence = [
    'pf: enabled',
    result.decidedBy ? `pf rule deciding: ${result.decidedBy}` : 'pf: no rule matches (pf passes what no rule blocks)',
  ];
  if (result.verdict === 'block') {
    return {
      firewall: PF,
      verdict: 'drop',
      reason: 'blocked-by-rule',
      summary: `pf blocks ${question.port}/${question.protocol}: ${result.decidedBy}`,
      evidence,
      unsure: result.unsure,
      fix: {
        text: `Load a pass rule for the port in porthole's pf anchor (/etc/pf.conf must call it: anchor "porthole"), or change the rule \`${result.decidedBy}\``,
        commands: [`porthole firewall ${shQuote(source)} --target pf | sudo pfctl -a porthole -f -`],
        shell: 'sh',
        elevated: true,
      },
    };
  }
  return {
    firewall: PF,
    verdict: 'accept',
    reason: result.decidedBy ? 'allowed' : 'not-filtering',
    summary: `pf passes ${question.port}/${question.protocol}`,
    evidence,
    unsure: result.unsure,
  };
}

const SEVERITY: Readonly<Record<FirewallAnswer['verdict'], number>> = { accept: 0, unknown: 1, reject: 2, drop: 3 };

/** The host firewall's answer for one inbound port on macOS, given the program that listens. Pure. */
export function judgeMacosPort(
  facts: MacosFirewallFacts,
  question: PortQuestion,
  program: string | undefined,
  source: string,
): FirewallAnswer {
  const label = `${question.port}/${question.protocol}`;
  const alf = judgeAlf(facts.alf, facts.alfProblem, program, label);
  const pf = judgePf(facts.pf, question, source);
  // A block in either is final; otherwise the less certain part speaks, then the Application Firewall.
  const decider = SEVERITY[pf.verdict] > SEVERITY[alf.verdict] ? pf : alf;
  const unsure = [...alf.unsure, ...pf.unsure];
  const certain = decider.verdict === 'drop' ? decider.unsure.length === 0 : unsure.length === 0;
  // Both open, and one of them actively allows: say allowed rather than not filtering.
  const reason =
    decider.verdict === 'accept' && (alf.reason === 'allowed' || pf.reason === 'allowed') ? 'allowed' : decider.reason;
  const summary =
    decider.verdict === 'accept'
      ? `${alf.summary}; ${pf.summary}${certain ? '' : ' (not everything could be judged)'}`
      : decider.summary;
  return {
    firewall: decider.firewall,
    verdict: decider.verdict,
    certain,
    reason,
    summary,
    evidence: [...alf.evidence, ...pf.evidence, ...unsure.map((why) => `not judged: ${why}`)],
    ...(decider.fix ? { fix: decider.fix } : {}),
  };
}
