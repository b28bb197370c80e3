/**
 * The NAT diagnosis: the public address as the router, STUN and the checker each see it, the
 * NAT's behaviour, and the verdicts — carrier-grade NAT, double NAT, no NAT — each with the
 * evidence that led to it.
 */
import { requestPublicIp } from '../checkerClient/index.js';
import type { AbortOptions } from '../deadline/index.js';
import { clientFor, discoverGateways, type GatewayInfo } from '../gateway/index.js';
import { cidrContains, classifyAddress, listInterfaces, parseCidr, parseIp } from '../net/index.js';
import { discoverNatBehavior, type StunFindings } from './behavior.js';
import { type Hop, tracePath } from './path.js';
import type { StunAddress } from './stunCodec.js';

const CGNAT = parseCidr('100.64.0.0/10');

/** One source's view of our public address. */
export interface AddressSighting {
  readonly source: 'router' | 'stun' | 'checker' | 'interface';
  readonly address: string;
  readonly detail: string;
}

/** The whole diagnosis. */
export interface NatDiagnosis {
  readonly publicIp: string | undefined;
  readonly sightings: readonly AddressSighting[];
  readonly agreed: boolean;
  readonly mapping: StunFindings['mapping'] | null;
  readonly filtering: StunFindings['filtering'] | null;
  readonly portPreserved: boolean | null;
  readonly hairpinning: boolean | null;
  readonly cgnat: boolean;
  readonly doubleNat: boolean;
  readonly noNat: boolean;
  readonly ipv6: { readonly globalAddress: string | undefined };
  readonly path: readonly Hop[] | null;
  readonly evidence: readonly string[];
  readonly summary: string;
  readonly skipped: readonly string[];
  readonly stun: StunFindings | undefined;
  readonly gateway: Pick<GatewayInfo, 'address' | 'protocols' | 'externalIp'> | undefined;
}

/** What to ask. */
export interface NatOptions extends AbortOptions {
  readonly stun?: StunAddress;
  readonly checker?: URL;
  /**
   * This host's gateways, from the discovery the run already made (a run session shares one);
   * discovered here when absent.
   */
  readonly gateways?: () => Promise<readonly GatewayInfo[]>;
}

/** The verdicts from the sightings and the path. Pure. */
export function judge(input: {
  sightings: readonly AddressSighting[];
  routerExternal: string | undefined;
  path: readonly Hop[] | undefined;
  hostAddresses: readonly string[];
}): {
  cgnat: boolean;
  doubleNat: boolean;
  noNat: boolean;
  publicIp: string | undefined;
  agreed: boolean;
  evidence: string[];
} {
  const evidence: string[] = [];
  const outside = input.sightings.filter((s) => s.source === 'stun' || s.source === 'checker');
  const publicIp = outside[0]?.address ?? input.routerExternal;
  const agreed = new Set(input.sightings.filter((s) => s.source !== 'interface').map((s) => s.address)).size <= 1;
  let cgnat = false;
  let doubleNat = false;
  if (input.routerExternal) {
    const routerClass = classifyAddress(input.routerExternal);
    if (cidrContains(CGNAT, parseIp(input.routerExternal))) {
      cgnat = true;
      evidence.push(
        `the router reports its external address as ${input.routerExternal}, inside the carrier-grade NAT range 100.64.0.0/10`,
      );
    } else if (routerClass === 'private') {
      doubleNat = true;
      evidence.push(
        `the router reports a private external address (${input.routerExternal}): another router is in front of it`,
      );
    } else if (publicIp && input.routerExternal !== publicIp) {
      cgnat = true;
      evidence.push(
        `the router reports ${input.routerExternal} but the internet sees ${publicIp}: another NAT translates the router's address`,
      );
    }
  }
  for (const hop of (input.path ?? []).slice(1)) {
    if (hop.class === 'cgnat') {
      cgnat = true;
      evidence.push(
        `hop ${hop.ttl} on the way out is ${hop.address}, inside the carrier-grade NAT range 100.64.0.0/10`,
      );
    } else if (hop.class === 'private') {
      doubleNat = true;
      evidence.push(
        `hop ${hop.ttl} on the way out is ${hop.address}, a private address: a second router after the first`,
      );
    }
  }
  const noNat = !!publicIp && input.hostAddresses.includes(publicIp);
  if (noNat) evidence.push(`this host itself has the public address ${publicIp}`);
  return { cgnat, doubleNat, noNat, publicIp, agreed, evidence };
}

/** The one-paragraph answer for a person. */
export function summarize(verdict: {
  cgnat: boolean;
  doubleNat: boolean;
  noNat: boolean;
  publicIp: string | undefined;
}): string {
  if (verdict.noNat)
    return `No NAT: this host has the public address ${verdict.publicIp}; only its own firewall stands between it and the internet.`;
  if (verdict.cgnat) {
    return 'Behind a carrier-grade NAT: inbound connections cannot reach you, whatever you set on your router; use a relay, or ask your ISP for a public (or IPv6) address.';
  }
  if (verdict.doubleNat) {
    return 'Behind two NATs: forward the port on both routers, or put the first one in bridge mode, before anything from outside can reach you.';
  }
  if (verdict.publicIp) {
    return `Behind one NAT (your router), public address ${verdict.publicIp}: a port forward or mapping on the router makes a port reachable.`;
  }
  return 'The public address is unknown: name a STUN server (--stun) or a checker (--checker) to find it.';
}

function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'E_INTERNAL';
}

/** Runs the diagnosis: gateway, STUN (when named), checker (when named), path, all at once. */
export async function diagnoseNat(options: NatOptions = {}): Promise<NatDiagnosis> {
  const skipped: string[] = [];
  const hostAddresses = listInterfaces().flatMap((iface) => iface.addresses.map((a) => a.address));
  // When one source fails the diagnosis fails: the others (tracepath's child among them) stop too.
  const failed = new AbortController();
  const each = {
    ...options,
    signal: options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal,
  };
  // A gateway that could not be asked is said (the code kept), never taken for "no gateway".
  const askGateways = options.gateways ?? (() => discoverGateways(each));
  const [gateways, stun, checkerIp, path] = await Promise.all([
    askGateways().catch((error: unknown) => {
      skipped.push(`router: could not be asked (${errorCodeOf(error)}: ${(error as Error).message})`);
      return [] as readonly GatewayInfo[];
    }),
    options.stun ? discoverNatBehavior(options.stun, each) : Promise.resolve(undefined),
    options.checker ? requestPublicIp(options.checker, each) : Promise.resolve(undefined),
    options.stun
      ? tracePath(options.stun.address, each)
      : options.checker
        ? tracePath(options.checker.hostname, each)
        : Promise.resolve(undefined),
  ]).catch((error: unknown) => {
    failed.abort(error);
    throw error;
  });
  if (!options.stun)
    skipped.push('STUN tests: no STUN server named (--stun HOST[:PORT]); porthole never picks a public one');
  if (!options.stun && !options.checker) skipped.push('path: nothing outside named to trace toward');
  else if (!path) skipped.push('path: tracepath is not installed (Debian: iputils-tracepath)');
  const gateway = gateways[0];
  let routerExternal = gateway?.externalIp;
  if (gateway && !routerExternal && gateway.protocols.includes('upnp')) {
    routerExternal =
      (await clientFor(gateway, 'upnp')
        ?.externalIp(options)
        .catch((error: unknown) => {
          skipped.push(
            `router's external address: UPnP did not say (${errorCodeOf(error)}: ${(error as Error).message})`,
          );
          return undefined;
        })) || undefined;
  }
  const sightings: AddressSighting[] = [];
  if (routerExternal)
    sightings.push({
      source: 'router',
      address: routerExternal,
      detail: `gateway ${gateway?.address} (${gateway?.protocols.join(', ')})`,
    });
  if (stun)
    sightings.push({
      source: 'stun',
      address: stun.mapped.address,
      detail: `${options.stun?.address}:${options.stun?.port} saw ${stun.mapped.address}:${stun.mapped.port}`,
    });
  if (checkerIp)
    sightings.push({ source: 'checker', address: checkerIp.address, detail: `${options.checker?.origin}/v1/ip` });
  const verdict = judge({ sightings, routerExternal, path: path?.hops, hostAddresses });
  if (gateway && gateway.protocols.length > 0 && !routerExternal) {
    verdict.evidence.push(
      `the router ${gateway.address} speaks ${gateway.protocols.join(', ')} but reports no usable external address (no public address of its own)`,
    );
  }
  const global6 = listInterfaces()
    .flatMap((iface) => iface.addresses)
    // Documentation addresses (2001:db8::/32) never appear on a real network; labs use them.
    .find(
      (address) => address.family === 6 && (address.class === 'public' || address.class === 'documentation'),
    )?.address;
  return {
    publicIp: verdict.publicIp,
    sightings,
    agreed: verdict.agreed,
    mapping: stun?.mapping ?? null,
    filtering: stun?.filtering ?? null,
    portPreserved: stun ? stun.portPreserved : null,
    hairpinning: stun ? stun.hairpinning : null,
    cgnat: verdict.cgnat,
    doubleNat: verdict.doubleNat,
    noNat: verdict.noNat,
    ipv6: { globalAddress: global6 },
    path: path?.hops ?? null,
    evidence: [...verdict.evidence, ...(stun?.evidence ?? [])],
    summary: summarize(verdict),
    skipped,
    stun,
    gateway: gateway
      ? { address: gateway.address, protocols: gateway.protocols, externalIp: routerExternal }
      : undefined,
  };
}
