/**
 * Facts → findings, purely. Each finding says what was checked, what was seen (evidence), and
 * when it fails, the cause by name and the exact fix: a command, or the router setting with
 * its values. Seed 000's four causes (nothing listening, the server's port differs, the host
 * firewall, the forward wrong or missing) plus carrier NAT and a router that refuses mapping
 * each have their own cause; the outside-in finding names the one that explains it.
 */
import type { HostFix } from '../host/index.js';
import { classifyAddress, isIpLiteral } from '../net/index.js';
import { reachOf } from '../probe/index.js';
import type { Facts, PortFacts, SeenMapping, Step } from './facts.js';
import type { Change } from './sources.js';

/** A finding's status, per the contract. */
export type FindingStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** The causes the doctor names. */
export type Cause =
  | 'not-listening'
  | 'listens-on-loopback'
  | 'host-firewall'
  | 'no-mapping'
  | 'mapping-wrong-port'
  | 'mapping-wrong-host'
  | 'router-refuses-mapping'
  | 'cgnat'
  | 'double-nat'
  | 'refused-on-path'
  | 'not-proven'
  | 'upstream-filter'
  | 'dns-unresolved'
  | 'dns-mismatch'
  | 'egress-blocked'
  | 'mapping-lost'
  /** The router lists the forward, but traffic from outside does not arrive through it. */
  | 'forward-not-applied';

/** One finding of the report. */
export interface Finding {
  readonly id: string;
  readonly status: FindingStatus;
  readonly summary: string;
  readonly evidence: readonly string[];
  /** What to do, when the finding fails or warns about something fixable. */
  readonly fix: string | null;
  readonly cause: Cause | null;
  /** Time the check took, milliseconds (a step shared by ports is counted for each). */
  readonly ms: number;
  /** What this check had to change on the router or host to answer (then the finding is never plain ok). */
  readonly changed?: string;
}

/** The doctor's verdict. */
export interface DoctorReport {
  /** Every port proven reachable from outside; the manifest's outbound, multicast and name needs are separate findings. */
  readonly reachable: boolean;
  readonly publicAddress: string | null;
  readonly lanAddress: string | null;
  readonly findings: readonly Finding[];
  /** What the diagnosis changed on the router or the host, and why (empty: it only looked). */
  readonly changes: readonly Change[];
  /** Double NAT: the router in front of this one, by address, when the path showed it. */
  readonly outerRouter?: string;
}

function finding(
  id: string,
  status: FindingStatus,
  summary: string,
  evidence: readonly string[],
  ms: number,
  extra: { fix?: string; cause?: Cause } = {},
): Finding {
  return { id, status, summary, evidence, fix: extra.fix ?? null, cause: extra.cause ?? null, ms };
}

/** The finding for a step that did not give a value: skipped (and why), or failed to check. */
function notRun(id: string, step: Exclude<Step<unknown>, { ok: true }>, what: string): Finding {
  return step.ok === 'skipped'
    ? finding(id, 'skip', `${what}: not checked (${step.why})`, [], 0)
    : finding(id, 'warn', `${what}: could not check (${step.error.message})`, [step.error.code], step.ms);
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * Where the address a router reports as external sits, when it is not public: `cgnat` (100.64.0.0/10)
 * or `private` (RFC 1918: another router in front). Routers report it so when told to allow a
 * private WAN (miniupnpd's ext_allow_private_ipv4) or when they never check; mappings on them
 * work on the router and are reached by nothing from the internet.
 */
export function routerAddressBehindNat(address: string | undefined): 'cgnat' | 'private' | undefined {
  if (!address || !isIpLiteral(address)) return undefined;
  const kind = classifyAddress(address);
  return kind === 'cgnat' || kind === 'private' ? kind : undefined;
}
const label = (p: PortFacts) => `${p.port}/${p.protocol}`;
const upper = (p: PortFacts) => p.protocol.toUpperCase();

function listenerFinding(p: PortFacts): Finding {
  const id = `listener:${label(p)}`;
  if (p.listeners.ok !== true) return notRun(id, p.listeners, `listener on ${label(p)}`);
  const sockets = p.listeners.value;
  if (sockets === undefined) {
    return finding(id, 'skip', `listener on ${label(p)}: this system does not show its sockets`, [], p.listeners.ms);
  }
  const describe = sockets.map(
    (s) =>
      `${s.address}:${s.port}/${s.protocol}${s.process ? ` held by ${s.process.name} (pid ${s.process.pid}${s.process.path ? `, ${s.process.path}` : ''})` : ''}`,
  );
  if (sockets.length === 0) {
    return finding(
      id,
      'fail',
      `nothing listens on ${label(p)} on this host`,
      [
        `no ${p.protocol === 'tcp' ? 'listening' : 'bound'} ${p.protocol.toUpperCase()} socket for port ${p.port} on this host`,
      ],
      p.listeners.ms,
      {
        cause: 'not-listening',
        fix: `Start the server, and check that it is configured for ${p.protocol.toUpperCase()} port ${p.port} (if it uses another port, forward and check that one instead).`,
      },
    );
  }
  if (sockets.every((s) => LOOPBACK.test(s.address))) {
    return finding(
      id,
      'fail',
      `${label(p)} listens on loopback only: nothing outside this host can reach it`,
      describe,
      p.listeners.ms,
      {
        cause: 'listens-on-loopback',
        fix: `Configure the server to listen on 0.0.0.0 (all addresses) or on the LAN address, not 127.0.0.1.`,
      },
    );
  }
  return finding(
    id,
    'ok',
    `${describe[0]}${describe.length > 1 ? ` (and ${describe.length - 1} more)` : ''} listens`,
    describe,
    p.listeners.ms,
  );
}

/** A host fix as the checklist prints it: the sentence, the exact lines in backticks, where to click. */
export function hostFixText(fix: HostFix): string {
  const where = fix.elevated
    ? fix.shell === 'powershell'
      ? ' (in PowerShell run as administrator)'
      : ' (as root)'
    : '';
  const lines = fix.commands.map((line) => `\`${line}\``).join(', then ');
  const byHand = fix.settings ? `${lines ? '. Or by hand' : ''}: ${fix.settings}` : '';
  return `${fix.text}${lines ? `: ${lines}${where}` : ''}${byHand}.`;
}

function firewallFinding(p: PortFacts): Finding {
  const id = `firewall:${label(p)}`;
  if (p.firewall.ok !== true) return notRun(id, p.firewall, `host firewall for ${label(p)}`);
  const answer = p.firewall.value;
  const fix = answer.fix ? { fix: hostFixText(answer.fix) } : {};
  if (answer.verdict === 'accept')
    return finding(id, answer.certain ? 'ok' : 'warn', answer.summary, answer.evidence, p.firewall.ms, fix);
  if (answer.verdict === 'unknown') return finding(id, 'warn', answer.summary, answer.evidence, p.firewall.ms, fix);
  return finding(id, 'fail', answer.summary, answer.evidence, p.firewall.ms, { cause: 'host-firewall', ...fix });
}

/** Whether the check from outside ran on a port nothing on this host blocks, and did not get through. */
function outsideFailedHere(p: PortFacts, hostFindings: readonly Finding[]): boolean {
  if (p.outside.ok !== true) return false;
  const reach = reachOf(p.outside.value.result);
  if (reach === 'proven' || reach === 'open-unproven' || reach === 'not-this-host') return false;
  // The host explains it (nothing listening, a firewall here): the router is not the one to blame.
  return !hostFindings.some(
    (f) =>
      f.status === 'fail' && !(p.outside.ok === true && p.outside.value.ownListener && f.id.startsWith('listener:')),
  );
}

function mappingFinding(
  p: PortFacts,
  facts: Facts,
  lan: string | undefined,
  cgnat: boolean,
  hostFindings: readonly Finding[] = [],
): Finding {
  const id = `mapping:${label(p)}`;
  const where = lan ?? 'this host';
  const routerSetting = `On the router, forward external port ${p.port}/${upper(p)} to internal IP ${where}, internal port ${p.port}, protocol ${upper(p)}.`;
  if (cgnat) {
    return finding(
      id,
      'warn',
      `a router mapping for ${label(p)} cannot help behind carrier-grade NAT`,
      [],
      facts.mappings.ms,
    );
  }
  if (facts.gateway.ok !== true) return notRun(id, facts.gateway, `router mapping for ${label(p)}`);
  const gateway = facts.gateway.value;
  const list: readonly SeenMapping[] = facts.mappings.ok === true ? facts.mappings.value : [];
  const describe = (m: SeenMapping) =>
    `${m.externalPort}/${m.protocol} → ${m.internalAddress}:${m.internalPort} (${m.source}${m.description ? `, "${m.description}"` : ''}${m.live === false ? `; STALE: ${m.note ?? 'the router does not have it'}` : m.note ? `; ${m.note}` : ''})`;
  const live = list.filter((m) => m.live !== false);
  const mine = live.find((m) => m.protocol === p.protocol && m.internalAddress === lan && m.internalPort === p.port);
  if (mine?.lost) {
    // Confirming a PCP/NAT-PMP mapping renews it: after a router restart that makes it again. The
    // port works now, but the user must learn the router forgets, or it is closed after the next restart.
    return {
      ...finding(
        id,
        'warn',
        `the router had lost porthole's mapping of ${label(p)} (${mine.lost}); renewed now, it will be lost again at the next restart`,
        list.map(describe),
        facts.mappings.ms,
        {
          cause: 'mapping-lost',
          fix: `Keep it mapped, so it is made again whenever the router forgets it: \`porthole map ${p.port}/${p.protocol} --keep\` (or \`porthole expose ${p.port}/${p.protocol} --keep\`) while the server runs.`,
        },
      ),
      changed: `renewed the mapping to ask the router about it (${mine.source}): that made it again`,
    };
  }
  if (mine && outsideFailedHere(p, hostFindings) && outerRouterOf(facts) === undefined) {
    // Listed is not applied: a forward landing in a chain nothing jumps to, or a second firewall on
    // the router, lists fine and passes nothing (seen in the lab with miniupnpd's rules unreached).
    const outside = p.outside.ok === true ? p.outside.value : undefined;
    const at = outside ? `${outside.target}:${outside.externalPort}/${p.protocol}` : label(p);
    if (outside?.result.state === 'closed') {
      // A refusal is an answer from a device on the path (the router with no forward in effect, or
      // the provider): the check from outside names it; the listing is not called ok meanwhile.
      return finding(
        id,
        'warn',
        `the router lists ${describe(mine)}, but the check from outside was refused at ${at}: listed is not proof that it is applied`,
        [`listed: ${describe(mine)}`, `checker ${facts.checker ?? ''} probed ${at}: closed (${outside.result.reason})`],
        facts.mappings.ms,
      );
    }
    return finding(
      id,
      'fail',
      `the router lists the forward but traffic does not arrive: a router firewall or a broken UPnP implementation (${describe(mine)}; from outside ${at} was ${outside?.result.state ?? 'not reached'})`,
      [
        `listed: ${describe(mine)}`,
        ...(outside
          ? [`checker ${facts.checker ?? ''} probed ${at}: ${outside.result.state} (${outside.result.reason})`]
          : []),
        'nothing on this host blocks it (listener and host firewall checked)',
        'a filter at the ISP would look the same from here; the last step of the fix tells them apart',
      ],
      facts.mappings.ms,
      {
        cause: 'forward-not-applied',
        fix: `On the router's page, turn off the firewall that drops forwarded traffic for this port (named "SPI firewall", "block WAN requests", "DoS protection" or a security filter), or make the forward by hand under Port Forwarding: ${routerSetting.replace('On the router, f', 'f')} (a forward made by hand is often applied where UPnP's is not). Then check again: \`porthole doctor ${p.port}/${p.protocol}${facts.checker ? ` --checker ${facts.checker}` : ''}\`. Still not reachable with the router's firewall off: the ISP filters the port (it looks the same from here); use another external port: \`porthole map ${p.port}/${p.protocol} --external ${otherExternalPort(p.port)}\`.`,
      },
    );
  }
  if (mine) {
    const outerForward =
      facts.outer?.ok === true
        ? facts.outer.value.mappings.find(
            (m) => m.live !== false && m.mine && m.protocol === p.protocol && m.internalPort === mine.externalPort,
          )
        : undefined;
    const through =
      outerForward && facts.outer?.ok === true
        ? `; the router in front (${facts.outer.value.gateway.address}) forwards external ${outerForward.externalPort}/${p.protocol} to it (${outerForward.source})`
        : '';
    const found = finding(
      id,
      'ok',
      `the router maps ${describe(mine)}${through}`,
      list.map(describe),
      facts.mappings.ms,
    );
    return mine.confirmedBy === 'renewal'
      ? { ...found, changed: `renewed the mapping's lease to confirm it (${mine.source}): the only way to ask` }
      : found;
  }
  const onPort = live.find((m) => m.protocol === p.protocol && m.externalPort === p.port);
  if (onPort && onPort.internalAddress !== lan) {
    return finding(
      id,
      'fail',
      `external port ${label(p)} is forwarded to another host: ${describe(onPort)}`,
      list.map(describe),
      facts.mappings.ms,
      {
        cause: 'mapping-wrong-host',
        fix: `Point it at this host: ${routerSetting} (It now goes to ${onPort.internalAddress}; remove that forward first.)`,
      },
    );
  }
  if (onPort) {
    return finding(
      id,
      'fail',
      `external port ${label(p)} is forwarded to the wrong internal port: ${describe(onPort)}`,
      list.map(describe),
      facts.mappings.ms,
      {
        cause: 'mapping-wrong-port',
        fix: `Re-make it for port ${p.port}: \`porthole unmap --external ${p.port}/${p.protocol}\` then \`porthole map ${p.port}/${p.protocol}\`. ${routerSetting} (It now goes to internal port ${onPort.internalPort}.)`,
      },
    );
  }
  const outside = p.outside.ok === true ? p.outside.value : undefined;
  if (outside && reachOf(outside.result) === 'proven') {
    return finding(
      id,
      'ok',
      `a forward for ${label(p)} exists (the router does not list it, but the check from outside reached this host, proven)`,
      list.map(describe),
      facts.mappings.ms,
    );
  }
  const outer = outerRouterOf(facts);
  if (outer !== undefined) {
    return finding(
      id,
      'fail',
      `no forward for ${label(p)} reaches this host, and a second router (${outer || 'in front of this one'}) stands between this router and the internet`,
      [...doubleNatEvidence(facts), ...list.map(describe)],
      facts.mappings.ms,
      { cause: 'double-nat', fix: doubleNatFix(p, lan, outer, facts) },
    );
  }
  if (gateway.protocols.length === 0) {
    return finding(
      id,
      'fail',
      `the router ${gateway.address} refuses automatic mapping (no UPnP IGD, NAT-PMP or PCP answered) and no forward for ${label(p)} reaches this host`,
      [`router ${gateway.address}: no mapping protocol`, ...list.map(describe)],
      facts.mappings.ms,
      {
        cause: 'router-refuses-mapping',
        fix: `${routerSetting} Or enable UPnP IGD or NAT-PMP/PCP on the router and run \`porthole expose ${p.port}/${p.protocol}\`.${facts.relay ? ` Or, without the router: ${relayWay(facts, `${p.port}/${p.protocol}`)}.` : ''}`,
      },
    );
  }
  const refused = p.permission?.allowed === false ? p.permission : undefined;
  if (refused) {
    const host = refused.scope === 'host';
    return {
      ...finding(
        id,
        'fail',
        host
          ? `this router's rules do not let ${where} map ports, and no forward for ${label(p)} reaches this host`
          : `the router will not give external port ${label(p)} to this host (another device holds it, or its rules do not allow that port)`,
        [refused.evidence, ...list.map(describe)],
        facts.mappings.ms,
        {
          cause: 'router-refuses-mapping',
          fix: host
            ? `In the router's settings, allow ${where} to map ports (its UPnP / NAT-PMP / PCP access rules; on a miniupnpd-based router an "allow" line for ${where}), or ${routerSetting.replace('On the router, f', 'on the router, f')}${facts.relay ? ` Or, without the router: ${relayWay(facts, `${p.port}/${p.protocol}`)}.` : ''}`
            : `Map another external port to it: \`porthole map ${p.port}/${p.protocol} --external ${otherExternalPort(p.port)}\` (users then connect to that port), or free ${p.port}/${upper(p)} on the router (\`porthole mappings\` shows who holds it).`,
        },
      ),
      changed: refused.changed,
    };
  }
  if (!gateway.externalIp && facts.nat.ok !== true) {
    return finding(
      id,
      'fail',
      `no mapping forwards ${label(p)} to this host, and the router has no public address to map on`,
      list.length > 0 ? list.map(describe) : ['the router lists no mapping for it'],
      facts.mappings.ms,
      {
        cause: 'no-mapping',
        fix: `The router has no public address: probably carrier-grade NAT, where no mapping can help. Confirm it with a STUN server or a checker (doctor --stun HOST or --checker URL); then ${relayWay(facts, `${p.port}/${p.protocol}`)}, or ask the ISP for a public address.`,
      },
    );
  }
  return finding(
    id,
    'fail',
    `no mapping forwards ${label(p)} to this host`,
    list.length > 0 ? list.map(describe) : ['the router lists no mapping for it'],
    facts.mappings.ms,
    {
      cause: 'no-mapping',
      fix: `Map it: \`porthole expose ${p.port}/${p.protocol}\` (or \`porthole map ${p.port}/${p.protocol}\`). ${routerSetting}`,
    },
  );
}

/**
 * The relay road as a fix: the command with the user's relay when one is configured; otherwise how to
 * get one, with no command to paste (a placeholder URL is not a fix that works).
 */
function relayWay(facts: Facts, ports: string): string {
  return facts.relay
    ? `go through your relay: \`porthole expose ${ports} --relay ${facts.relay}\``
    : 'go through a relay (set one up on a host with a public address with porthole relay serve or an OpenSSH server, then expose with --relay ssh://USER@HOST; see docs/relay.md)';
}

/** An external port to try when this one is refused or filtered on the way: 10000 above, or below near the top. */
function otherExternalPort(port: number): number {
  return port + 10000 <= 65535 ? port + 10000 : port - 10000;
}

function outsideFinding(p: PortFacts, others: readonly Finding[], facts: Facts): Finding {
  const id = `outside-in:${label(p)}`;
  if (p.outside.ok !== true) return notRun(id, p.outside, `check from outside of ${label(p)}`);
  const { result, target, externalPort, ownListener } = p.outside.value;
  const at = `${target}:${externalPort}/${p.protocol}`;
  const evidence = [
    `checker ${facts.checker ?? ''} probed ${at}: ${result.state} (${result.reason}, ${result.ms} ms)${result.verified === true ? ', proof verified' : ''}`,
    ...(p.outside.value.proofListener ? [p.outside.value.proofListener] : []),
  ];
  const reach = reachOf(result);
  if (reach === 'proven') {
    return finding(
      id,
      'ok',
      ownListener
        ? `the path from the internet works: the checker reached porthole's own listener at ${at} with proof (start the server to serve there)`
        : `reachable from the internet at ${at}, proven to reach this host (${result.verifiedBy === 'connection' ? "the checker's connection arrived here" : 'the answer carried our proof'})`,
      [...evidence, ...(result.verifiedBy === 'connection' ? [p.outside.value.identity.evidence] : [])],
      p.outside.ms,
    );
  }
  if (reach === 'open-unproven') {
    const notHere = p.outside.value.identity.seen === false;
    return finding(
      id,
      'warn',
      `${at} is open, but not proven to reach this computer${notHere ? ': the connection did not arrive here' : ''}`,
      [...evidence, p.outside.value.identity.evidence],
      p.outside.ms,
      {
        cause: notHere ? 'mapping-wrong-host' : 'not-proven',
        fix: notHere
          ? `The forward for external port ${externalPort}/${p.protocol} most likely points at another device: on the router, make it go to ${facts.gateway.ok === true ? facts.gateway.value.internalAddress : 'this host'}, port ${p.port} (\`porthole mappings\` lists what the router shows).`
          : `Prove it: stop the server and run \`porthole check ${externalPort}/${p.protocol} --listen${facts.checker ? ` --checker ${facts.checker}` : ''}\` on this host (porthole answers on the port with a proof), or run the doctor on Linux, where the checker's connection can be looked for.`,
      },
    );
  }
  if (reach === 'not-this-host') {
    return finding(
      id,
      'fail',
      `${at} answers, but not from this host (the proof did not match)`,
      evidence,
      p.outside.ms,
      {
        cause: 'mapping-wrong-host',
        fix: `The forward for ${externalPort}/${p.protocol} goes to another device; point it at this host.`,
      },
    );
  }
  // porthole answered on the port itself: the server not running cannot explain this one.
  const root = others.find(
    (f) => f.status === 'fail' && f.cause !== null && !(ownListener && f.id.startsWith('listener:')),
  );
  if (root) {
    return finding(
      id,
      'fail',
      `not reachable from the internet at ${at} (${result.state}): explained by ${root.id}`,
      evidence,
      p.outside.ms,
      {
        cause: root.cause as Cause,
        fix: root.fix ?? '',
      },
    );
  }
  const outer = outerRouterOf(facts);
  if (outer !== undefined) {
    return finding(
      id,
      'fail',
      `not reachable from the internet at ${at} (${result.state}): a second router (${outer || 'in front of this one'}) does not forward it`,
      [...evidence, ...doubleNatEvidence(facts)],
      p.outside.ms,
      {
        cause: 'double-nat',
        fix: doubleNatFix(p, facts.gateway.ok === true ? facts.gateway.value.internalAddress : undefined, outer, facts),
      },
    );
  }
  if (result.state === 'closed') {
    // A refusal (TCP reset or ICMP port unreachable) is an answer: some device on the path had no
    // forward for the port, most often the router itself; a filter upstream would stay silent.
    return finding(
      id,
      'fail',
      `refused at ${at}: a device on the path answered for the port instead of forwarding it (most often the router, with no forward in effect)`,
      evidence,
      p.outside.ms,
      {
        cause: 'refused-on-path',
        fix: `Make the forward again (a router may list a forward it does not apply): \`porthole unmap ${p.port}/${p.protocol}\` then \`porthole map ${p.port}/${p.protocol}\`, and run the doctor again. Still refused: something in front of the router refuses the port (a provider's box, or a provider blocking it); use another external port: \`porthole unmap ${p.port}/${p.protocol}\` then \`porthole map ${p.port}/${p.protocol} --external ${otherExternalPort(p.port)}\`.`,
      },
    );
  }
  return finding(
    id,
    'fail',
    `not reachable from the internet at ${at} (${result.state}), though every hop here looks right`,
    evidence,
    p.outside.ms,
    {
      cause: 'upstream-filter',
      fix: `Something past the router filters the port (the ISP, or a second router in front of this one). Try another external port: \`porthole map ${p.port}/${p.protocol} --external ${otherExternalPort(p.port)}\`, or ask the ISP.`,
    },
  );
}

function hairpinFinding(p: PortFacts): Finding | undefined {
  const id = `hairpin:${label(p)}`;
  if (p.hairpin.ok === 'skipped') return undefined;
  if (p.hairpin.ok === false) return notRun(id, p.hairpin, `hairpin for ${label(p)}`);
  const { state, reason } = p.hairpin.value;
  return state === 'open'
    ? finding(
        id,
        'ok',
        `devices on this network reach ${label(p)} through the public address too (hairpin)`,
        [`${state} (${reason})`],
        p.hairpin.ms,
      )
    : finding(
        id,
        'warn',
        `the router does not loop the public address back (hairpin): from inside, use the LAN address`,
        [`${state} (${reason})`],
        p.hairpin.ms,
        {
          fix: 'Devices on this LAN should connect to the server by its LAN address (or a local DNS override); outside users are not affected.',
        },
      );
}

function natFinding(facts: Facts, source: string): Finding {
  if (facts.nat.ok !== true) return notRun('nat', facts.nat, 'public address and NAT');
  const nat = facts.nat.value;
  const evidence = [...nat.sightings.map((s) => `${s.source}: ${s.address} (${s.detail})`), ...nat.evidence];
  if (nat.cgnat) {
    return finding(
      'nat',
      'fail',
      `carrier-grade NAT: this network has no public address of its own (${nat.summary})`,
      evidence,
      facts.nat.ms,
      {
        cause: 'cgnat',
        fix: nat.ipv6.globalAddress
          ? `No IPv4 mapping can open a port here (only the ISP can: a public IPv4 address, or a port forward on their NAT), but this host has IPv6 (${nat.ipv6.globalAddress}): \`porthole expose ${source} --family ipv6\` opens it there (users with IPv6 connect to [${nat.ipv6.globalAddress}]), or ${relayWay(facts, source)}.`
          : `No router mapping can open a port here. Ask the ISP for a public IPv4 address (or a port forward on their NAT), use IPv6 if both ends have it, or ${relayWay(facts, source)}.`,
      },
    );
  }
  return finding(
    'nat',
    nat.doubleNat ? 'warn' : 'ok',
    `public address ${nat.publicIp ?? 'unknown'}: ${nat.summary}`,
    evidence,
    facts.nat.ms,
  );
}

/**
 * The outer router of a double NAT: its address from the path (the first private hop after
 * this router), '' when double NAT is known but the path did not show it, undefined when there
 * is no double NAT.
 */
export function outerRouterOf(facts: Facts): string | undefined {
  if (facts.outer?.ok === true) return facts.outer.value.gateway.address;
  if (facts.nat.ok !== true || !facts.nat.value.doubleNat || facts.nat.value.cgnat) return undefined;
  const hop = (facts.nat.value.path ?? []).slice(1).find((h) => h.class === 'private');
  return hop?.address ?? '';
}

function doubleNatEvidence(facts: Facts): string[] {
  return facts.nat.ok === true
    ? facts.nat.value.evidence.filter((line) => /private|another NAT|second router/.test(line))
    : [];
}

/** Whether the outer router of a double NAT answers a mapping protocol (then porthole maps on both). */
function outerSpeaks(facts: Facts): boolean {
  return facts.outer?.ok === true && facts.outer.value.gateway.protocols.length > 0;
}

/** What to set on both routers of a double NAT, by address: one command when the outer router answers. */
function doubleNatFix(p: PortFacts, lan: string | undefined, outer: string, facts?: Facts): string {
  const at = outer ? `the router at ${outer}` : 'the router in front of yours';
  if (facts && outer && outerSpeaks(facts)) {
    const speaks = facts.outer?.ok === true ? facts.outer.value.gateway.protocols.join(', ') : '';
    return `Two routers, and the one in front (${outer}) answers ${speaks}: map on both, the outer to your router's WAN address and yours to this host: \`porthole map ${p.port}/${p.protocol} --outer ${outer}\` (or \`porthole expose ${p.port}/${p.protocol}\`, which does it when the first road ends at double NAT).`;
  }
  const subnet = outer ? ` (an address on ${outer.split('.').slice(0, 3).join('.')}.x; its status page shows it)` : '';
  return `Two routers: on ${at}, forward external port ${p.port}/${upper(p)} to your router's WAN address${subnet}, port ${p.port}; on your router, forward ${p.port}/${upper(p)} to ${lan ?? 'this host'}:${p.port} (\`porthole expose ${p.port}/${p.protocol}\` does this one when the router allows it). Or put ${at} in bridge mode, or make your router its DMZ host.`;
}

function gatewayFinding(facts: Facts, source: string, proven = false): Finding {
  if (facts.gateway.ok !== true) return notRun('gateway', facts.gateway, 'router');
  const gateway = facts.gateway.value;
  const evidence = [`router ${gateway.address} on ${gateway.interface}, this host ${gateway.internalAddress}`];
  if (gateway.protocols.length === 0) {
    return finding(
      'gateway',
      'warn',
      `the router ${gateway.address} answers no UPnP IGD, NAT-PMP or PCP: forwards must be made by hand`,
      evidence,
      facts.gateway.ms,
    );
  }
  if (!gateway.externalIp) {
    return finding(
      'gateway',
      'warn',
      `the router ${gateway.address} speaks ${gateway.protocols.join(', ')} but has no public address: probably carrier-grade NAT (run with --stun or a checker to confirm)`,
      [...evidence, 'the router gave no external address (NAT-PMP refused or UPnP answered an empty one)'],
      facts.gateway.ms,
    );
  }
  const behind = routerAddressBehindNat(gateway.externalIp);
  if (behind && proven) {
    // Mapped on both routers (double NAT) and proven from outside: said, not failed.
    return finding(
      'gateway',
      'warn',
      `the router reports ${gateway.externalIp} (${behind === 'cgnat' ? 'carrier-grade NAT' : 'private'}) as its external address; the ports were proven reachable from outside through the router in front`,
      [...evidence, `external address ${gateway.externalIp}`],
      facts.gateway.ms,
    );
  }
  if (behind) {
    return finding(
      'gateway',
      'fail',
      behind === 'cgnat'
        ? `the router reports ${gateway.externalIp} as its external address: that is carrier-grade NAT (100.64.0.0/10), not a public address; mappings on this router are made but nothing from the internet reaches them`
        : `the router reports ${gateway.externalIp} as its external address: a private address, so another router (the provider's box) stands in front of it; mappings on this router alone are reached by nothing from the internet`,
      [
        ...evidence,
        `external address ${gateway.externalIp}: ${behind === 'cgnat' ? 'carrier-grade NAT range 100.64.0.0/10' : 'a private range (RFC 1918)'}`,
      ],
      facts.gateway.ms,
      behind === 'cgnat'
        ? {
            cause: 'cgnat',
            fix: `No mapping on this router can open a port: the ISP's NAT is in front of it. Ask the ISP for a public IPv4 address, use IPv6 (\`porthole expose ${source} --family ipv6\`) if both ends have it, or ${relayWay(facts, source)}.`,
          }
        : {
            cause: 'double-nat',
            fix: `Map on both routers: ${outerSpeaks(facts) && facts.outer?.ok === true ? `\`porthole expose ${source}\` does it (the router in front, ${facts.outer.value.gateway.address}, answers ${facts.outer.value.gateway.protocols.join(', ')}; \`porthole map PORT --outer ${facts.outer.value.gateway.address}\` maps one port)` : "forward the port on the router in front to this router's WAN address, then on this one to this host"}; or put the router in front in bridge mode.`,
          },
    );
  }
  return finding(
    'gateway',
    'ok',
    `router ${gateway.address} speaks ${gateway.protocols.join(', ')}${gateway.externalIp ? `; external address ${gateway.externalIp}` : ''}`,
    evidence,
    facts.gateway.ms,
  );
}

function nameFinding(facts: Facts, publicIp: string | undefined): Finding | undefined {
  if (facts.name.ok === 'skipped') return undefined;
  if (facts.name.ok !== true) return notRun('dns', facts.name, 'DNS name');
  const resolution = facts.name.value;
  if (resolution.error || resolution.addresses.length === 0) {
    return finding(
      'dns',
      'fail',
      `${resolution.name} does not resolve: ${resolution.error?.message ?? 'no address'}`,
      [],
      facts.name.ms,
      {
        cause: 'dns-unresolved',
        fix: `Create an A record for ${resolution.name} pointing at ${publicIp ?? 'the public address'} (or update the dynamic DNS client).`,
      },
    );
  }
  const evidence = [`${resolution.name} → ${resolution.addresses.join(', ')}`];
  if (!publicIp)
    return finding(
      'dns',
      'warn',
      `${resolution.name} resolves, but the public address is unknown`,
      evidence,
      facts.name.ms,
    );
  if (resolution.addresses.includes(publicIp)) {
    return finding('dns', 'ok', `${resolution.name} points at the public address ${publicIp}`, evidence, facts.name.ms);
  }
  return finding(
    'dns',
    'fail',
    `${resolution.name} points at ${resolution.addresses.join(', ')}, not at the public address ${publicIp}`,
    evidence,
    facts.name.ms,
    {
      cause: 'dns-mismatch',
      fix: `Point ${resolution.name}'s A record at ${publicIp} (it is stale, or names another network).`,
    },
  );
}

/** The manifest's multicast entries (LAN discovery): as src/discovery judged them. */
function multicastFindings(facts: Facts): Finding[] {
  if (facts.multicast.ok === 'skipped') return [];
  if (facts.multicast.ok !== true) return [notRun('multicast', facts.multicast, 'multicast entries')];
  const ms = facts.multicast.ms;
  return facts.multicast.value.map((m) => ({
    id: m.id,
    status: m.status,
    summary: m.summary,
    evidence: m.evidence,
    fix: m.fix ?? null,
    cause: m.status === 'fail' && /firewall/.test(m.id) ? ('host-firewall' as const) : null,
    ms,
  }));
}

/** What a fleet's vantages saw together: disagreement is a filter on some paths, not on others. */
function vantagesFinding(facts: Facts): Finding | undefined {
  const combined = facts.vantages;
  if (!combined) return undefined;
  const evidence = combined.ports.map(
    (port) =>
      `${port.port}/${port.protocol}: reached from ${port.from.join(', ') || 'none'}${port.notFrom.length > 0 ? `, not from ${port.notFrom.join(', ')}` : ''}`,
  );
  // The fleet speaks of external ports; the fix names the internal one `map` takes.
  const internalOf = (port: { port: number; protocol: string }) =>
    facts.ports.find(
      (p) => p.protocol === port.protocol && p.outside.ok === true && p.outside.value.externalPort === port.port,
    )?.port ?? port.port;
  const blocked = combined.ports.filter((port) => port.notFrom.length > 0);
  if (combined.reachable === 'some' || combined.disagree) {
    return finding('vantages', 'warn', `seen from several places, not all agree: ${combined.summary}`, evidence, 0, {
      cause: 'upstream-filter',
      fix: `Something on the way from ${combined.notFrom.join(', ')} filters ${blocked.map((port) => `${port.port}/${port.protocol}`).join(', ')} (their network, a provider in between, or a geo-block); users there cannot connect. Use another external port: ${blocked.map((port) => `\`porthole unmap ${internalOf(port)}/${port.protocol}\` then \`porthole map ${internalOf(port)}/${port.protocol} --external ${otherExternalPort(port.port)}\``).join(', ')}; if every port is filtered there, ${relayWay(facts, blocked.map((port) => `${internalOf(port)}/${port.protocol}`).join(','))}.`,
    });
  }
  return finding(
    'vantages',
    combined.reachable === 'all' ? 'ok' : combined.reachable === 'unknown' ? 'skip' : 'warn',
    `seen from several places: ${combined.summary}`,
    evidence,
    0,
  );
}

function egressFinding(facts: Facts): Finding | undefined {
  if (facts.egress.ok === 'skipped') return undefined;
  if (facts.egress.ok !== true) return notRun('egress', facts.egress, 'outbound needs');
  const { results, names } = facts.egress.value;
  const failedNames = names.filter((n) => n.error);
  const bad = results.filter((r) => r.state === 'blocked' || r.state === 'intercepted');
  const evidence = [
    ...names.map((n) => (n.error ? `DNS ${n.name}: ${n.error.message}` : `DNS ${n.name} → ${n.addresses.join(', ')}`)),
    ...results.map((r) => `${r.entry ?? ''} ${r.name ?? r.host}:${r.port}/${r.protocol} ${r.state} (${r.reason})`),
  ];
  const untested = results.filter((r) => r.state === 'untested');
  if (failedNames.length === 0 && bad.length === 0 && untested.length > 0) {
    return finding(
      'egress',
      'warn',
      `not proven: ${untested.length} of the manifest's outbound needs could not be tested (${[...new Set(untested.map((r) => r.reason))].join('; ')})`,
      evidence,
      facts.egress.ms,
      {
        fix: 'Name a checker that runs the egress listener (`porthole serve --egress-ports ...`) with --checker, or give the entries their hosts in the manifest.',
      },
    );
  }
  if (failedNames.length === 0 && bad.length === 0) {
    return finding(
      'egress',
      'ok',
      `the manifest's outbound needs get out (${results.length} tested)`,
      evidence,
      facts.egress.ms,
    );
  }
  const what = [
    ...bad.map((r) => `${r.protocol.toUpperCase()} ${r.port} to ${r.name ?? r.host} (${r.state})`),
    ...failedNames.map((n) => `DNS for ${n.name}`),
  ];
  return finding('egress', 'fail', `outbound needs fail: ${what.join(', ')}`, evidence, facts.egress.ms, {
    cause: 'egress-blocked',
    fix: `Ask the network's administrator to allow: ${what.join('; ')}.`,
  });
}

/** A range's ports judged alike are one finding from this many on: a 10,000-port table gave 40,002 findings. */
const GROUP_FROM = 3;
/** Evidence lines kept from a grouped finding's first port. */
const GROUP_EVIDENCE = 4;

/**
 * Findings per range, not per port: among the ports of one entry and protocol (a range or a list),
 * those whose finding of a kind (listener, firewall, mapping, outside-in, hairpin) has the same
 * status and cause become one finding (`outside-in:20570-20575/tcp`) that says how many ports it
 * stands for; fewer than GROUP_FROM alike keep their own. Pure.
 */
export function groupByRange(perPort: readonly { p: PortFacts; findings: readonly Finding[] }[]): Finding[] {
  const out: Finding[] = [];
  let start = 0;
  while (start < perPort.length) {
    // One run: the ports of one entry and protocol, in order (a range, or a list of ports).
    let end = start + 1;
    const first = perPort[start];
    while (
      first &&
      end < perPort.length &&
      perPort[end]?.p.entry === first.p.entry &&
      perPort[end]?.p.protocol === first.p.protocol
    )
      end++;
    const run = perPort.slice(start, end);
    start = end;
    if (run.length < GROUP_FROM) {
      for (const one of run) out.push(...one.findings);
      continue;
    }
    const kinds = [...new Set(run.flatMap((one) => one.findings.map((f) => f.id.split(':')[0] ?? f.id)))];
    for (const kind of kinds) {
      const byPort = run.flatMap((one) => {
        const found = one.findings.find((f) => f.id.startsWith(`${kind}:`));
        return found ? [{ port: one.p.port, finding: found }] : [];
      });
      // Alike: the same status and cause. Each distinct verdict is one finding for its ports.
      const groups = new Map<string, typeof byPort>();
      for (const one of byPort) {
        const key = `${one.finding.status}/${one.finding.cause ?? ''}`;
        groups.set(key, [...(groups.get(key) ?? []), one]);
      }
      for (const alike of groups.values()) {
        const head = alike[0];
        const last = alike.at(-1);
        if (!head || !last || alike.length < GROUP_FROM) {
          out.push(...alike.map((a) => a.finding));
          continue;
        }
        const protocol = run[0]?.p.protocol ?? 'tcp';
        const contiguous = last.port - head.port + 1 === alike.length;
        const span = `${head.port}-${last.port}/${protocol}`;
        const which = contiguous ? span : `${alike.length} ports of ${run[0]?.p.entry ?? 'the entry'} from ${span}`;
        out.push({
          ...head.finding,
          id: `${kind}:${span}`,
          summary: `${which} (${alike.length} ports, each alike): ${head.finding.summary}`,
          evidence: [
            ...head.finding.evidence.slice(0, GROUP_EVIDENCE),
            `… the same for each of the ${alike.length} ports (shown: ${head.port})`,
          ],
          ms: Math.max(...alike.map((a) => a.finding.ms)),
        });
      }
    }
  }
  return out;
}

/** Judges the facts. `source` is how the user named the ports (for the fixes' commands). */
export function judge(facts: Facts, source: string, changes: readonly Change[] = []): DoctorReport {
  const lan = facts.gateway.ok === true ? facts.gateway.value.internalAddress : undefined;
  const nat = natFinding(facts, source);
  const cgnat =
    nat.cause === 'cgnat' ||
    (facts.gateway.ok === true && routerAddressBehindNat(facts.gateway.value.externalIp) === 'cgnat');
  const probed = facts.ports.map((p) => p.outside).find((step) => step.ok === true);
  const publicIp =
    facts.nat.ok === true
      ? facts.nat.value.publicIp
      : probed?.ok === true
        ? probed.value.target
        : facts.gateway.ok === true && !routerAddressBehindNat(facts.gateway.value.externalIp)
          ? facts.gateway.value.externalIp
          : undefined;
  const proven =
    facts.ports.length > 0 &&
    facts.ports.every((p) => p.outside.ok === true && reachOf(p.outside.value.result) === 'proven');
  const findings: Finding[] = [gatewayFinding(facts, source, proven), nat];
  let reachable = facts.ports.length > 0;
  const perPort: { p: PortFacts; findings: Finding[] }[] = [];
  for (const p of facts.ports) {
    const listener = listenerFinding(p);
    const firewall = firewallFinding(p);
    const mapping = mappingFinding(p, facts, lan, cgnat, [listener, firewall]);
    const outside = outsideFinding(p, [...(cgnat ? [nat] : []), listener, firewall, mapping], facts);
    const hairpin = hairpinFinding(p);
    perPort.push({ p, findings: [listener, firewall, mapping, outside, ...(hairpin ? [hairpin] : [])] });
    const served = listener.status === 'ok' || listener.status === 'skip';
    if (!(served && outside.status === 'ok' && p.outside.ok === true && !p.outside.value.ownListener))
      reachable = false;
  }
  findings.push(...groupByRange(perPort));
  for (const range of facts.unchecked ?? [])
    findings.push(
      finding(
        `range:${range.start}-${range.end}/${range.protocol}`,
        'warn',
        `${range.start}-${range.end}/${range.protocol} (${range.end - range.start + 1} ports): only ${range.start}-${range.checkedTo} checked; a router maps one port of a range, and a check service probes at most 64 at once`,
        [`entry ${range.entry}`],
        0,
        {
          fix: `Name the ports the users need (a smaller range, or a list), and check them: \`porthole doctor ${range.start}-${range.checkedTo}/${range.protocol}\`.`,
        },
      ),
    );
  const vantages = vantagesFinding(facts);
  if (vantages) findings.push(vantages);
  // Reachable is a claim about the inbound road only: a failing hop on it denies it. The manifest's
  // other needs (outbound, LAN multicast, the DNS name) are findings of their own; they make the
  // diagnosis fail but do not turn a proven road into "not reachable".
  if (findings.some((f) => f.status === 'fail')) reachable = false;
  const name = nameFinding(facts, publicIp);
  const egress = egressFinding(facts);
  findings.push(...multicastFindings(facts));
  if (name) findings.push(name);
  if (egress) findings.push(egress);
  const outerRouter = outerRouterOf(facts);
  return {
    reachable,
    publicAddress: publicIp ?? null,
    lanAddress: lan ?? null,
    findings,
    changes,
    ...(outerRouter ? { outerRouter } : {}),
  };
}
