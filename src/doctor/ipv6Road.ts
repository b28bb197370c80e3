/**
 * The IPv6 road of `porthole expose`: a pinhole per exposed port in the router's IPv6 firewall
 * (PCP, then UPnP IGDv2), proven from outside over IPv6 by the checker's connection seen here.
 * Taken when asked (--family ipv6) or when the IPv4 road cannot work (carrier NAT, most often).
 */
import type { Mapping, MappingClient } from '../gateway/index.js';
import type { OwnedMapping } from '../library/leftovers.js';
import { type ExposeOptions, type ExposeResult, requestsOf, roadResult, sameMapping } from './exposePlan.js';
import type { DoctorReport } from './judge.js';

/** Whether this host has a global IPv6 address: the IPv6 road is possible only then. */
export async function hasGlobalIpv6(): Promise<boolean> {
  const { listInterfaces } = await import('../net/localNetwork.js');
  // Documentation addresses (2001:db8::/32) count: they never appear on a real network, and labs use them.
  return listInterfaces().some((iface) =>
    iface.addresses.some((a) => a.family === 6 && (a.class === 'public' || a.class === 'documentation')),
  );
}

/**
 * The IPv6 road: a pinhole per exposed port in the router's IPv6 firewall (PCP, then IGDv2),
 * proven from outside over IPv6 (the checker's connection seen here). The address to give users is
 * this host's own global address, in brackets.
 */
export async function runIpv6(
  options: ExposeOptions,
  because: string,
  started: number,
  ipv4Findings: DoctorReport['findings'] = [],
): Promise<ExposeResult> {
  const gateway = await import('../gateway/index.js');
  const { askRecorded } = await import('../library/leftovers.js');
  const { randomBytes } = await import('node:crypto');
  const made: { mapping: Mapping; client: MappingClient; owned: OwnedMapping }[] = [];
  const signalOptions = options.signal ? { signal: options.signal } : {};
  try {
    for (const request of requestsOf(options.manifest.entries)) {
      // Recorded with this process's pid before the router is asked, with the PCP nonce it is asked
      // with (a pinhole cannot be listed, only deleted by its nonce): a SIGKILL at any moment leaves
      // a record `porthole cleanup` acts on (before, a killed expose left its pinholes open for good;
      // then one killed between the router's answer and the record, found by scripts/crash-safety.ts).
      const nonce = randomBytes(12).toString('hex');
      const { mapping, client, owned } = await askRecorded((beforeAsking) =>
        gateway.mapPinhole(
          { ...request, external: undefined, lifetimeSeconds: options.lifetimeSeconds, nonce },
          {
            ...signalOptions,
            ...(options.via && options.via !== 'natpmp' ? { via: options.via } : {}),
            beforeAsking: (six) =>
              beforeAsking({
                gateway: six.address,
                family: 6,
                protocol: request.protocol,
                internalPort: request.internalPort,
                nonce,
              }),
          },
        ),
      );
      made.push({ mapping, client, owned });
      if (options.statePath) gateway.recordMapping(options.statePath, mapping);
    }
  } catch (error) {
    // Nothing half-made stays behind unsaid: pinholes made so far go; one that cannot go keeps its
    // record (for `porthole unmap`) and is named in the error.
    const leftBehind: { mapping: Mapping; why: string }[] = [];
    for (const { mapping, client, owned } of made) {
      try {
        await client.unmap(mapping);
        owned.done(true);
        if (options.statePath) gateway.forgetMappings(options.statePath, (m) => sameMapping(m, mapping));
      } catch (cleanup) {
        leftBehind.push({ mapping, why: (cleanup as Error).message });
      }
    }
    if (leftBehind.length > 0 && error instanceof Error) {
      const coded = error as Error & { data?: Record<string, unknown> };
      coded.data = { ...coded.data, leftBehind: leftBehind.map((l) => ({ ...l.mapping, why: l.why })) };
    }
    throw error;
  }
  const address = made[0]?.mapping.internalAddress;
  const findings = [...ipv4Findings.filter((f) => f.status !== 'fail'), ...(await proveIpv6(options, made))];
  const reachable =
    made.length > 0 && findings.filter((f) => f.id.startsWith('outside-in:')).every((f) => f.status === 'ok');
  const report: DoctorReport = {
    reachable,
    publicAddress: address ? `[${address}]` : null,
    lanAddress: address ?? null,
    findings,
  };
  const result = (kept: boolean, mappings: readonly Mapping[]): ExposeResult =>
    roadResult(report, { mode: 'direct', family: 6, kept, mappings, ipv6Because: because }, started);
  if (!options.keep) {
    // Without --keep the pinholes stay by design (recorded in the state file): no longer this process's.
    for (const { owned } of made) owned.done(true);
    return result(
      false,
      made.map((m) => m.mapping),
    );
  }
  options.onStatus?.({
    at: new Date().toISOString(),
    kind: 'verified',
    reachable,
    family: 6,
    give: reachable ? made.map(({ mapping }) => `[${mapping.internalAddress}]:${mapping.internalPort}`) : [],
  });
  const kept = await Promise.all(
    made.map(async ({ mapping, client, owned }) => {
      let removed = false;
      const last = await gateway.keepMapping(client, mapping, {
        ...signalOptions,
        onEvent: (event) => {
          owned.follow(event);
          if (event.kind === 'removed') removed = true;
          options.onStatus?.({ at: new Date().toISOString(), family: 6, ...event });
        },
      });
      owned.done(removed);
      return last;
    }),
  );
  if (options.statePath) {
    const statePath = options.statePath;
    gateway.forgetMappings(statePath, (m) => kept.some((k) => k.family === 6 && sameMapping(m, k)));
  }
  return result(true, kept);
}

/** Asks the checker over IPv6 to probe the pinholes' ports, and proves identity by connection. */
async function proveIpv6(
  options: ExposeOptions,
  made: readonly { mapping: Mapping }[],
): Promise<DoctorReport['findings']> {
  if (!options.checker) {
    return made.map(({ mapping }) => ({
      id: `outside-in:${mapping.internalPort}/${mapping.protocol}/ipv6`,
      status: 'skip' as const,
      summary: 'check from outside over IPv6: not checked (no checker)',
      evidence: [],
      fix: null,
      cause: null,
      ms: 0,
    }));
  }
  const { checkerEndpoints, requestCheck } = await import('../checker/client.js');
  const { provePeers } = await import('../probe/index.js');
  const started = performance.now();
  const [endpoint] = await checkerEndpoints(options.checker, {
    checker6: options.checker6,
    family: 'ipv6',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const spec = made.map(({ mapping }) => `${mapping.internalPort}/${mapping.protocol}`).join(',');
  const response = await requestCheck(endpoint?.url ?? options.checker, spec, undefined, {
    family: 6,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const host = options.host ?? (await import('../host/index.js')).currentHost();
  const proven = await provePeers(response.results, (ports) => host.connections(ports));
  const ms = Math.round(performance.now() - started);
  return proven.results.map((result, index) => {
    const at = `[${response.target}]:${result.port}/${result.protocol}`;
    const ok = result.state === 'open' && result.verified === true;
    return {
      id: `outside-in:${result.port}/${result.protocol}/ipv6`,
      status: ok ? ('ok' as const) : result.state === 'open' ? ('warn' as const) : ('fail' as const),
      summary: ok
        ? `reachable from the internet over IPv6 at ${at}, proven to reach this host`
        : result.state === 'open'
          ? `${at} is open over IPv6, but not proven to reach this computer`
          : `not reachable over IPv6 at ${at} (${result.state})`,
      evidence: [`checker probed ${at}: ${result.state} (${result.reason})`, proven.identities[index]?.evidence ?? ''],
      fix: ok
        ? null
        : 'The pinhole was granted but the port is not reached: check the server listens on IPv6 (::) and the host firewall admits it.',
      cause: ok ? null : ('upstream-filter' as const),
      ms,
    };
  });
}
