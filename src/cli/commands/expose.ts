/**
 * `porthole expose (FILE|PORTS)`: a frame over the library's `expose`: the roads (a direct
 * mapping, an IPv6 pinhole, a relay) are walked there; this reads the flags, prints the status of
 * what is kept as it happens, and the result.
 */
import { positiveInteger } from '../../config/index.js';
import { PortholeError } from '../../errors/index.js';
import type { MappingMethod } from '../../gateway/index.js';
import type { ProgressEvent } from '../../library/index.js';
import { checklistText, progressLine } from '../checklist.js';
import type { CommandSpec } from '../commandSpec.js';
import { UPDATE_METHOD_OPTIONS } from '../nameFlags.js';
import type { Output } from '../output.js';

/** `--family`: ipv4, ipv6 or auto. */
function familyOption(value: unknown): 'ipv4' | 'ipv6' | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'ipv4' || value === 'ipv6') return value;
  throw new PortholeError('E_USAGE', { detail: `--family ${String(value)}`, hint: 'Use --family ipv4, ipv6 or auto.' });
}

/** `--via`: one mapping protocol. */
function viaOption(value: unknown): MappingMethod | undefined {
  if (value === undefined) return undefined;
  if (value === 'pcp' || value === 'natpmp' || value === 'upnp') return value;
  throw new PortholeError('E_USAGE', { detail: `--via ${String(value)}`, hint: 'Use --via pcp, natpmp or upnp.' });
}

/** `--firewall`: open the host firewall too; the name must be this system's firewall (or `host`). */
async function firewallOption(value: unknown): Promise<boolean> {
  if (value === undefined) return false;
  const { currentHost } = await import('../../host/index.js');
  const own = currentHost().firewall.target;
  if (value === 'host' || value === own) return true;
  throw new PortholeError('E_FIREWALL_UNSUPPORTED', {
    detail: `--firewall ${String(value)}: this system's firewall is ${own}`,
    hint: `Use --firewall ${own} (or --firewall host), or write the rules with \`porthole firewall FILE --target T\` and apply them yourself.`,
  });
}

/** `--proxy-protocol`: v1 or v2. */
function proxyProtocolOption(value: unknown): 'v1' | 'v2' | undefined {
  if (value === undefined) return undefined;
  if (value === 'v1' || value === 'v2') return value;
  throw new PortholeError('E_USAGE', { detail: `--proxy-protocol ${String(value)}`, hint: 'Use v1 or v2.' });
}

/**
 * The status of what is kept, as it happens: one JSON line each with --json, a line of text
 * otherwise. Without --keep nothing is kept: the result is the one document.
 */
function statusPrinter(
  output: Output,
  keep: boolean,
  isKeepStatus: (event: ProgressEvent) => boolean,
): (event: ProgressEvent) => void {
  const progress = progressLine(output);
  return (event) => {
    progress.onProgress(event);
    if (!keep || !isKeepStatus(event)) return;
    progress.clear();
    const at = new Date().toISOString();
    if (output.json) {
      output.jsonLine({ at, ...event });
      return;
    }
    const give = 'give' in event ? (event.give ?? []) : [];
    if (give.length > 0) {
      output.notice(`Reachable. Give your users: ${give.join(', ')} (kept until Ctrl-C)`);
      return;
    }
    const parts = [at, event.kind];
    if ('reachable' in event) parts.push(`: ${event.reachable ? 'reachable' : 'NOT reachable'}`);
    if (event.kind === 'address-changed') parts.push(`: ${event.from} → ${event.to} (${event.evidence})`);
    else if ('mapping' in event) parts.push(`: ${event.mapping.externalIp}:${event.mapping.externalPort}`);
    if (event.kind === 'name') parts.push(` ${event.name}: ${event.error ?? `${event.updates} change(s)`}`);
    if ('error' in event && event.kind !== 'name') parts.push(`: ${String(event.error)}`);
    output.notice(parts.join(' ').replace(' :', ':'));
  };
}

/** The `expose` command. */
export const exposeCommand: CommandSpec = {
  name: 'expose',
  args: '<source>',
  summary: 'make FILE or PORTS reachable from the internet and prove it',
  options: [
    ['--checker <url>', 'check service URL (default: $PORTHOLE_CHECKER)'],
    ['--stun <host[:port]>', 'STUN server for the NAT diagnosis'],
    ['--name <dnsname>', 'DNS name that should point at the public address'],
    ['--firewall <backend>', "also open the host firewall (this system's: nftables, windows or pf; or host)"],
    ['--keep', 'renew, re-make after a router restart, re-verify, and remove everything on exit'],
    ['--lease <seconds>', 'mapping lifetime asked of the router', '7200'],
    ['--via <method>', 'map with this protocol only: pcp, natpmp or upnp'],
    ['--interval <seconds>', 'with --keep: re-verify from outside this often', '300'],
    [
      '--family <family>',
      "ipv4, ipv6 (a pinhole in the router's IPv6 firewall) or auto: IPv6 when IPv4 cannot work",
      'auto',
    ],
    [
      '--checker6 <url>',
      "the checker's IPv6 URL, when --checker does not reach it over IPv6 (default: $PORTHOLE_CHECKER6)",
    ],
    [
      '--relay <url>',
      'ssh://USER@HOST[:PORT]: a relay for when no direct road can work (OpenSSH sshd or porthole relay serve)',
    ],
    ['--relay-only', 'skip the direct road and go through the relay'],
    ['--proxy-protocol <version>', 'relay: send a PROXY protocol header (v1 or v2) to the local server'],
    ['--identity <file>', 'relay: the private key to log in with (default ~/.ssh keys, then the agent)'],
    ['--data <dir>', "relay: porthole's data directory (its known_hosts pins the relay's key)"],
    // With --name and one of these, expose also points the name at the public address (and keeps it there).
    ...UPDATE_METHOD_OPTIONS.filter(([flags]) => !flags.startsWith('--server')),
    ['--dns-server <addr[:port]>', "--name: the name's authoritative server to read its records from"],
  ],
  run: async ({ args, options, env, output, signal }) => {
    const { expose, isKeepStatus } = await import('../../library/index.js');
    const { checkerUrl } = await import('../../checkerClient/index.js');
    const source = args[0] ?? '';
    const keep = options.keep === true;
    if (options.relayOnly === true && typeof options.relay !== 'string')
      throw new PortholeError('E_USAGE', { detail: '--relay-only needs --relay URL' });
    const checker6Text = typeof options.checker6 === 'string' ? options.checker6 : env.PORTHOLE_CHECKER6;
    const via = viaOption(options.via);
    const proxyProtocol = proxyProtocolOption(options.proxyProtocol);
    const naming = typeof options.name === 'string' && (options.rfc2136 !== undefined || options.dyndns2 !== undefined);
    const result = await expose({
      env,
      signal,
      ports: source,
      keep,
      onProgress: statusPrinter(output, keep, isKeepStatus),
      lifetimeSeconds: Math.max(2, positiveInteger(options.lease, '--lease', 7200, 604_800)),
      verifyEverySeconds: Math.max(5, positiveInteger(options.interval, '--interval', 300, 86_400)),
      family: familyOption(options.family),
      ...((await firewallOption(options.firewall)) ? { openFirewall: true } : {}),
      ...(via ? { via } : {}),
      ...(checker6Text ? { checker6: checkerUrl(checker6Text, {}) } : {}),
      ...(typeof options.checker === 'string' ? { checker: options.checker } : {}),
      ...(typeof options.stun === 'string' ? { stun: options.stun } : {}),
      ...(typeof options.name === 'string' ? { name: options.name } : {}),
      ...(typeof options.relay === 'string' ? { relay: options.relay } : {}),
      ...(options.relayOnly === true ? { relayOnly: true } : {}),
      ...(proxyProtocol ? { proxyProtocol } : {}),
      ...(typeof options.identity === 'string' ? { identityFile: options.identity } : {}),
      ...(typeof options.data === 'string' ? { dataDir: options.data } : {}),
      ...(naming
        ? { followName: { name: String(options.name), settings: { ...options, server: options.dnsServer } } }
        : {}),
    });
    const give = result.give.join(', ');
    return {
      exitCode: result.reachable ? 0 : 1,
      jsonLine: keep,
      json: {
        reachable: result.reachable,
        mode: result.mode,
        road: result.road,
        family: result.family,
        ...(result.ipv6Because ? { ipv6Because: result.ipv6Because } : {}),
        publicAddress: result.publicAddress,
        give: result.reachable ? result.give : [],
        mappings: result.mappings,
        relays: result.relays,
        ...(result.relayBecause ? { relayBecause: result.relayBecause } : {}),
        tried: result.tried,
        ...(result.name ? { name: result.name } : {}),
        ...(result.nameKept ? { nameKept: result.nameKept } : {}),
        portChanges: result.portChanges,
        // A mapping left behind keeps its fields (externalPort, protocol, method...) as before, with what and why.
        leftBehind: result.leftBehind.map(({ detail, what, why }) => ({ ...detail, what, why })),
        firewall: result.firewall,
        kept: result.kept,
        findings: result.findings,
        changes: result.changes,
        ms: result.ms,
      },
      human: () =>
        [
          checklistText(
            output,
            `porthole expose ${source}${result.mode === 'relay' ? ' (through the relay)' : ''}:`,
            result,
          ),
          ...result.notes,
          ...(result.reachable && give ? [`Give your users: ${give}`] : []),
          ...result.leftBehind.map(
            (l) => `NOT removed: ${l.what} (${l.why}); \`porthole cleanup\` tries again once this process is gone.`,
          ),
          ...(keep && result.leftBehind.length === 0
            ? ['Stopped: the mappings and firewall rules made were removed.']
            : []),
        ].join('\n'),
    };
  },
};
