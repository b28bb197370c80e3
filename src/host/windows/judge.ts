/**
 * Would Windows Defender Firewall let an inbound packet from the internet reach this port? Pure
 * decision logic over a snapshot, in Windows' own order: the profile the network in use has;
 * that profile off means no filtering; "Block all incoming connections" refuses whatever the
 * rules say; a matching block rule wins over any allow rule; a matching allow rule lets it in;
 * otherwise the profile's default inbound action decides. When nothing lets the port in, the
 * classic near misses are named: an allow rule for another profile (Private while the network is
 * Public) or for another program file (the server was moved or updated). A firewall registered
 * with Security Center is said to decide, and porthole cannot read it.
 */
import type { FirewallAnswer, FirewallPart, PortQuestion } from '../types.js';
import {
  addRuleFix,
  allowRulesFix,
  disableBlockFix,
  extendProfileFix,
  retargetProgramFix,
  thirdPartyFix,
} from './fixes.js';
import {
  comparablePath,
  type FilterMatch,
  matches,
  namesPort,
  onProfile,
  portMatch,
  programMatch,
  protocolMatch,
  remoteMatch,
  ruleMatch,
} from './ruleMatch.js';
import type { WindowsProfile, WindowsProfileName, WindowsRule, WindowsSnapshot } from './types.js';

/** The name the answers give the firewall. */
export const WINDOWS_FIREWALL = 'Windows Defender Firewall';

/** What judging one profile found. */
type ProfileVerdict = Omit<FirewallPart, 'firewall'> & { readonly profile: WindowsProfileName };

function describeRule(rule: WindowsRule): string {
  const profiles = rule.profiles === 'any' ? 'all profiles' : `profiles ${rule.profiles.join(', ')}`;
  return `rule "${rule.displayName}" (${rule.id}): ${rule.action} ${rule.protocol ?? '?'} ${(rule.localPorts ?? ['?']).join(',')}, ${profiles}, program ${rule.program ?? '?'}, remote ${(rule.remoteAddresses ?? ['?']).join(',')}`;
}

function describeProfile(profile: WindowsProfile): string {
  return `${profile.name} profile: ${profile.enabled ? 'on' : 'off'}, default inbound ${profile.defaultInbound}, ${profile.allowInboundRules ? 'inbound rules honoured' : 'block all incoming connections'}`;
}

const unsureOf = (filter: FilterMatch) => ('unsure' in filter ? [filter.unsure] : []);

/** Rules that apply to the packet, and the ones porthole could not judge. */
function matching(rules: readonly WindowsRule[], question: PortQuestion, programs: readonly string[]) {
  const sure: WindowsRule[] = [];
  const unsure: string[] = [];
  for (const rule of rules) {
    const match = ruleMatch(rule, question, programs);
    if (matches(match)) sure.push(rule);
    else for (const why of unsureOf(match)) unsure.push(`rule "${rule.displayName}": ${why}`);
  }
  return { sure, unsure };
}

/** Allow rules that would match but for one filter: the profile, or the program file. */
function nearMisses(
  rules: readonly WindowsRule[],
  profile: WindowsProfileName,
  question: PortQuestion,
  programs: readonly string[],
) {
  const allows = rules.filter((rule) => rule.action === 'allow');
  const otherProfile = allows.filter(
    (rule) => !onProfile(rule, profile) && matches(ruleMatch(rule, question, programs)),
  );
  const serverFiles = programs.map((path) => comparablePath(path).split('\\').pop());
  const otherProgram = allows.filter((rule) => {
    if (!onProfile(rule, profile) || rule.program === undefined) return false;
    const program = programMatch(rule, programs);
    if (!('match' in program) || program.match) return false;
    if (!matches(protocolMatch(rule, question)) || !matches(portMatch(rule, question))) return false;
    if (!matches(remoteMatch(rule))) return false;
    // A rule for another program is a near miss when it names this port, or the same file name
    // in another folder (the server moved or was updated); not every program rule of the host.
    const file = comparablePath(rule.program).split('\\').pop();
    return namesPort(rule, question) || serverFiles.includes(file);
  });
  // Allowed, but only from the local network (LocalSubnet, Intranet...): never from the internet.
  const localOnly = allows.filter(
    (rule) =>
      onProfile(rule, profile) &&
      !matches(remoteMatch(rule)) &&
      !('unsure' in remoteMatch(rule)) &&
      matches(ruleMatch({ ...rule, remoteAddresses: ['Any'] }, question, programs)),
  );
  return { otherProfile, otherProgram, localOnly };
}

/** One profile's verdict for the packet. */
function judgeProfile(
  profile: WindowsProfile,
  rules: readonly WindowsRule[],
  question: PortQuestion,
  programs: readonly string[],
  activeProfiles: readonly WindowsProfileName[],
): ProfileVerdict {
  const label = `${question.port}/${question.protocol}`;
  const base = { profile: profile.name, evidence: [describeProfile(profile)] };
  if (!profile.enabled) {
    return {
      ...base,
      verdict: 'accept',
      reason: 'not-filtering',
      summary: `Windows Defender Firewall is off for the ${profile.name} profile the network in use has`,
      unsure: [],
    };
  }
  if (!profile.allowInboundRules) {
    const after = judgeProfile({ ...profile, allowInboundRules: true }, rules, question, programs, activeProfiles);
    return {
      ...base,
      verdict: 'drop',
      reason: 'block-all-incoming',
      summary: `Windows Defender Firewall blocks all incoming connections on the ${profile.name} profile ("Block all incoming connections"), whatever its rules allow`,
      unsure: [],
      fix: allowRulesFix([profile.name], after.verdict === 'accept' ? undefined : after.fix),
    };
  }
  const applicable = rules.filter((rule) => onProfile(rule, profile.name));
  const blocks = matching(
    applicable.filter((rule) => rule.action === 'block'),
    question,
    programs,
  );
  const allows = matching(
    applicable.filter((rule) => rule.action === 'allow'),
    question,
    programs,
  );
  if (blocks.sure.length > 0) {
    return {
      ...base,
      evidence: [...base.evidence, ...blocks.sure.map(describeRule), ...allows.sure.map(describeRule)],
      verdict: 'drop',
      reason: 'blocked-by-rule',
      summary: `Windows Defender Firewall blocks ${label}: the block rule "${blocks.sure[0]?.displayName}" wins over any allow rule`,
      unsure: [],
      fix: disableBlockFix(blocks.sure),
    };
  }
  const first = allows.sure[0];
  if (first) {
    return {
      ...base,
      evidence: [...base.evidence, describeRule(first)],
      verdict: 'accept',
      reason: 'allowed',
      summary: `Windows Defender Firewall lets ${label} in on the ${profile.name} profile (rule "${first.displayName}")`,
      unsure: blocks.unsure,
    };
  }
  const unsure = [...blocks.unsure, ...allows.unsure];
  if (profile.defaultInbound === 'allow') {
    return {
      ...base,
      verdict: 'accept',
      reason: 'not-filtering',
      summary: `Windows Defender Firewall lets ${label} in: the ${profile.name} profile's default inbound action is Allow`,
      unsure,
    };
  }
  const misses = nearMisses(rules, profile.name, question, programs);
  const otherProfile = misses.otherProfile[0];
  if (otherProfile) {
    const profiles = otherProfile.profiles === 'any' ? 'all' : otherProfile.profiles.join(', ');
    return {
      ...base,
      evidence: [...base.evidence, describeRule(otherProfile)],
      verdict: 'drop',
      reason: 'rule-for-other-profile',
      summary: `the allow rule "${otherProfile.displayName}" for ${label} applies on ${profiles} networks only, and the network in use is ${profile.name}`,
      unsure,
      fix: extendProfileFix(otherProfile, [profile.name]),
    };
  }
  const otherProgram = misses.otherProgram[0];
  const server = programs[0];
  if (otherProgram && server) {
    return {
      ...base,
      evidence: [...base.evidence, describeRule(otherProgram), `server program: ${server}`],
      verdict: 'drop',
      reason: 'rule-for-other-program',
      summary: `the allow rule "${otherProgram.displayName}" is for ${otherProgram.program}, but ${label} is held by ${server} (moved or updated?)`,
      unsure,
      fix: retargetProgramFix(otherProgram, server),
    };
  }
  const local = misses.localOnly[0];
  return {
    ...base,
    evidence: [...base.evidence, ...misses.localOnly.map(describeRule)],
    verdict: 'drop',
    reason: 'default-block',
    summary: `no Windows Defender Firewall rule lets ${label} in from the internet on the ${profile.name} profile${local ? ` (the rule "${local.displayName}" admits only ${(local.remoteAddresses ?? []).join(', ')})` : ''}, and its default blocks inbound connections`,
    unsure,
    fix: addRuleFix(question, activeProfiles),
  };
}

const SEVERITY: Readonly<Record<FirewallAnswer['verdict'], number>> = { accept: 0, unknown: 1, reject: 2, drop: 3 };

/** An answer that says the firewall could not be judged, and why. */
export function unreadableWindowsAnswer(
  question: PortQuestion,
  why: string,
  evidence: readonly string[],
): FirewallAnswer {
  return {
    firewall: WINDOWS_FIREWALL,
    verdict: 'unknown',
    certain: false,
    reason: 'unreadable',
    summary: `Windows Defender Firewall's rules for ${question.port}/${question.protocol} could not be read (${why})`,
    evidence,
  };
}

/** The firewall's answer for one inbound port, given the programs that hold it. Pure. */
export function judgeWindowsPort(
  snapshot: WindowsSnapshot,
  question: PortQuestion,
  programs: readonly string[],
): FirewallAnswer {
  const { profiles, rules, networks } = snapshot;
  if (!profiles || !rules) {
    const missing = [!profiles ? 'the firewall profiles' : '', !rules ? 'the rules' : ''].filter(Boolean).join(' and ');
    return unreadableWindowsAnswer(question, `${missing} were not read`, snapshot.sectionErrors);
  }
  // With no connected network (or none read) Windows files the interface under Public.
  const inUse =
    networks && networks.length > 0 ? [...new Set(networks.map((network) => network.profile))] : ['Public' as const];
  const networkEvidence =
    networks && networks.length > 0
      ? networks.map((network) => `network "${network.name}" (${network.interfaceAlias}): ${network.profile} profile`)
      : ['no network profile read: judged as Public, what Windows gives an unidentified network'];
  const verdicts = inUse.map((name) => {
    const profile = profiles.find((candidate) => candidate.name === name);
    return profile
      ? judgeProfile(profile, rules, question, programs, inUse)
      : {
          profile: name,
          verdict: 'unknown' as const,
          reason: 'unreadable' as const,
          summary: `the ${name} profile's settings were not read`,
          evidence: [],
          unsure: [`the ${name} profile was not read`],
        };
  });
  // With several networks in use the packet may arrive on any of them: the worst answer stands.
  const worst = verdicts.reduce((a, b) => (SEVERITY[b.verdict] > SEVERITY[a.verdict] ? b : a));
  const unsure = verdicts.flatMap((verdict) => verdict.unsure);
  const evidence = [
    ...networkEvidence,
    ...verdicts.flatMap((verdict) => verdict.evidence),
    ...(programs.length > 0 ? [`program holding the port: ${programs.join(', ')}`] : []),
    ...unsure.map((why) => `not judged: ${why}`),
  ];
  const running = (snapshot.thirdParty ?? []).filter((product) => product.state === 'on');
  // A block Windows Defender Firewall makes is certain whatever else filters; otherwise a
  // registered third-party firewall decides, and porthole cannot read it.
  if (running.length > 0 && worst.verdict !== 'drop') {
    const names = running.map((product) => product.name);
    return {
      firewall: names.join(', '),
      verdict: 'unknown',
      certain: false,
      reason: 'third-party',
      summary: `${names.join(' and ')} ${names.length === 1 ? 'is' : 'are'} registered as this host's firewall; porthole cannot read its rules, so whether it lets ${question.port}/${question.protocol} in is unknown`,
      evidence: [`Security Center lists: ${names.join(', ')}`, ...evidence],
      fix: thirdPartyFix(names, question, programs[0]),
    };
  }
  return {
    firewall: WINDOWS_FIREWALL,
    verdict: worst.verdict,
    certain: worst.verdict !== 'unknown' && unsure.length === 0,
    reason: worst.reason,
    summary: `${worst.summary}${unsure.length > 0 && worst.verdict === 'accept' ? ' (some rules could not be judged)' : ''}`,
    evidence,
    ...(worst.fix ? { fix: worst.fix } : {}),
  };
}
