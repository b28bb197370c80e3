/**
 * `porthole expose (FILE|PORTS)`: open the firewall when asked, map, verify from outside with
 * the doctor, and with --keep keep it so until interrupted, then remove what was made.
 */
import { PortholeError } from '../../errors/index.js';
import type { CommandSpec } from '../commandSpec.js';
import type { Output } from '../output.js';
import { doctorHuman, doctorInputs } from './doctor.js';
import { UPDATE_METHOD_OPTIONS } from './name.js';

/** `--family`: ipv4, ipv6 or auto. */
function familyOption(value: unknown): 'ipv4' | 'ipv6' | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'ipv4' || value === 'ipv6') return value;
  throw new PortholeError('E_USAGE', { detail: `--family ${String(value)}`, hint: 'Use --family ipv4, ipv6 or auto.' });
}

/** `--name` with an update method: one pass (expose) or a loop until interrupted (expose --keep). */
async function nameKeeping(
  name: string,
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  output: Output,
) {
  const { keepName, updateName } = await import('../../dns/index.js');
  const { addressSource, commonUpdate } = await import('./name.js');
  const common = await commonUpdate(options, env);
  const publicAddresses = await addressSource(options, env);
  return {
    once: async (signal: AbortSignal) => {
      const report = await updateName({ ...common, name, addresses: await publicAddresses({ signal }), signal });
      return { name: report.name, records: report.records };
    },
    keep: (signal: AbortSignal) =>
      keepName({
        ...common,
        name,
        publicAddresses,
        // A minute between looks: a changed address is followed within one, and nothing is sent when it is not.
        intervalMs: 60_000,
        minUpdateIntervalMs: 60_000,
        signal,
        onRound: ({ report, error }) => {
          if (error) output.notice(`name ${name}: ${error.message}`);
          else if (report && report.updates > 0) output.notice(`name ${name} updated (${report.updates} change(s))`);
        },
      }),
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
    ['--firewall <backend>', 'also open the host firewall (nftables)'],
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
    const { runExpose } = await import('../../doctor/expose.js');
    const { positiveInteger } = await import('./probe.js');
    const source = args[0] ?? '';
    if (options.firewall !== undefined && options.firewall !== 'nftables') {
      throw new PortholeError('E_FIREWALL_UNSUPPORTED', {
        detail: `--firewall ${String(options.firewall)}: expose applies nftables only`,
        hint: 'Use --firewall nftables, or write the rules with `porthole firewall FILE --target T` and apply them yourself.',
      });
    }
    const via = options.via === undefined ? undefined : String(options.via);
    if (via !== undefined && via !== 'pcp' && via !== 'natpmp' && via !== 'upnp') {
      throw new PortholeError('E_USAGE', { detail: `--via ${via}`, hint: 'Use --via pcp, natpmp or upnp.' });
    }
    const inputs = await doctorInputs(source, options, env);
    const keep = options.keep === true;
    if (options.relayOnly === true && typeof options.relay !== 'string') {
      throw new PortholeError('E_USAGE', { detail: '--relay-only needs --relay URL' });
    }
    const proxyProtocol = options.proxyProtocol === undefined ? undefined : String(options.proxyProtocol);
    if (proxyProtocol !== undefined && proxyProtocol !== 'v1' && proxyProtocol !== 'v2') {
      throw new PortholeError('E_USAGE', { detail: `--proxy-protocol ${proxyProtocol}`, hint: 'Use v1 or v2.' });
    }
    const relay =
      typeof options.relay === 'string'
        ? {
            url: await (await import('./relay.js')).relayUrlOf(options.relay, env),
            dataDir: (await import('./relay.js')).dataDirOf(options, env),
            only: options.relayOnly === true,
            ...(proxyProtocol ? { proxyProtocol: proxyProtocol as 'v1' | 'v2' } : {}),
            ...(typeof options.identity === 'string' ? { identityFile: options.identity } : {}),
          }
        : undefined;
    if (relay) (await import('../../relay/index.js')).parseRelayUrl(relay.url);
    const checker6Text = typeof options.checker6 === 'string' ? options.checker6 : env.PORTHOLE_CHECKER6;
    const checker6 = checker6Text ? (await import('../../checker/client.js')).checkerUrl(checker6Text, {}) : undefined;
    // --name with an update method: the name follows the public address while expose runs.
    const naming =
      typeof options.name === 'string' && (options.rfc2136 !== undefined || options.dyndns2 !== undefined)
        ? await nameKeeping(options.name, { ...options, server: options.dnsServer }, env, output)
        : undefined;
    const named = naming && !keep ? await naming.once(signal) : undefined;
    const nameLoop = naming && keep ? naming.keep(signal) : undefined;
    const result = await runExpose(
      {
        ...inputs,
        signal,
        keep,
        ...(options.firewall === 'nftables' ? { firewall: 'nftables' as const } : {}),
        lifetimeSeconds: Math.max(2, positiveInteger(options.lease, '--lease', 7200, 604_800)),
        ...(via ? { via } : {}),
        verifyEverySeconds: Math.max(5, positiveInteger(options.interval, '--interval', 300, 86_400)),
        ...(relay ? { relay } : {}),
        family: familyOption(options.family),
        ...(checker6 ? { checker6 } : {}),
        onStatus: (status) => {
          if (output.json) output.jsonLine(status);
          else if (Array.isArray(status.give) && status.give.length > 0)
            output.notice(`Reachable. Give your users: ${status.give.join(', ')} (kept until Ctrl-C)`);
          else
            output.notice(
              `${String(status.at)} ${String(status.kind)}${status.reachable !== undefined ? `: ${status.reachable ? 'reachable' : 'NOT reachable'}` : ''}${status.mapping ? `: ${(status.mapping as { externalIp: string; externalPort: number }).externalIp}:${(status.mapping as { externalPort: number }).externalPort}` : ''}${status.error ? `: ${String(status.error)}` : ''}`,
            );
        },
      },
      source,
    );
    const nameKept = await nameLoop;
    const give =
      result.mode === 'relay'
        ? result.relays.map((r) => `${r.publicAddress} (for ${r.port}/tcp)`).join(', ')
        : result.family === 6
          ? result.mappings.map((m) => `${result.publicAddress}:${m.internalPort}/${m.protocol}`).join(', ')
          : result.publicAddress
            ? result.mappings.map((m) => `${result.publicAddress}:${m.externalPort}/${m.protocol}`).join(', ')
            : '';
    return {
      exitCode: result.reachable ? 0 : 1,
      jsonLine: keep,
      json: {
        reachable: result.reachable,
        mode: result.mode,
        family: result.family,
        ...(result.ipv6Because ? { ipv6Because: result.ipv6Because } : {}),
        publicAddress: result.publicAddress,
        mappings: result.mappings,
        relays: result.relays,
        ...(result.relayBecause ? { relayBecause: result.relayBecause } : {}),
        ...(named ? { name: named } : {}),
        ...(nameKept ? { nameKept } : {}),
        portChanges: result.portChanges,
        leftBehind: result.leftBehind.map((l) => ({ ...l.mapping, why: l.why })),
        firewall: result.firewall,
        kept: result.kept,
        findings: result.findings,
        ms: result.ms,
      },
      human: () =>
        [
          doctorHuman(
            output,
            `porthole expose ${source}${result.mode === 'relay' ? ' (through the relay)' : ''}:`,
            result,
          ),
          ...(result.relayBecause ? [`Went through the relay: ${result.relayBecause}.`] : []),
          ...(result.ipv6Because
            ? [
                `Opened over IPv6 (a pinhole): ${result.ipv6Because}. Users need IPv6 to connect; give them the address in brackets, or an AAAA record for your name.`,
              ]
            : []),
          ...(result.mode === 'relay' && !keep
            ? ['The tunnel was proven and closed: run with --keep to keep it open for users.']
            : []),
          ...result.portChanges.map(
            (c) =>
              `Note: the router gave external port ${c.got} for ${c.asked}/${c.protocol} (${c.asked} was not available): users must use ${c.got}.`,
          ),
          ...(result.reachable && give ? [`Give your users: ${give}`] : []),
          ...(!keep
            ? result.mappings
                .filter((m) => m.lifetime > 0)
                .map(
                  (m) =>
                    `The mapping of ${m.externalPort}/${m.protocol} expires in ${m.lifetime} s (at ${new Date(Date.now() + m.lifetime * 1000).toISOString()}): run with --keep to renew it, or \`porthole unmap ${m.internalPort}/${m.protocol}\` to remove it now.`,
                )
            : []),
          ...result.leftBehind.map(
            (l) =>
              `NOT removed from the router: ${l.mapping.externalPort}/${l.mapping.protocol} (${l.why}); remove it with \`porthole unmap --external ${l.mapping.externalPort}/${l.mapping.protocol}\`.`,
          ),
          ...(keep && result.leftBehind.length === 0
            ? ['Stopped: the mappings and firewall rules made were removed.']
            : []),
        ].join('\n'),
    };
  },
};
