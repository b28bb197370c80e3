/** `diagnose`: the doctor from code, every hop with evidence and a fix. */
import { lookup } from 'node:dns/promises';
import { checkerUrl } from '../checker/client.js';
import { resolveSetting } from '../config/index.js';
import type { AbortOptions } from '../deadline/index.js';
import { type DoctorReport, runDoctor } from '../doctor/index.js';
import { PortholeError } from '../errors/index.js';
import { mappingStatePath } from '../gateway/index.js';
import { loadManifestOrPorts, type Manifest } from '../manifest/index.js';
import { isIpLiteral } from '../net/address.js';

/** STUN's well-known port (RFC 8489). */
const STUN_PORT = 3478;

/** What to diagnose. */
export interface DiagnoseOptions extends AbortOptions {
  /** Ports (`7001`, `7001/udp,7002`), a manifest file's path, or a loaded manifest; none checks the router, NAT and name only. */
  readonly ports?: string | Manifest;
  /** Check service; default $PORTHOLE_CHECKER, then the configuration file; none skips the outside-in checks. */
  readonly checker?: string | URL;
  /** STUN server `HOST[:PORT]`; default $PORTHOLE_STUN, then the configuration file. */
  readonly stun?: string;
  /** A DNS name that should point at the public address; default the configured `dns.name`. */
  readonly name?: string;
  /** Environment for the configuration and state lookups (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

/** The doctor's report: `reachable`, and findings `{id, status, summary, evidence, fix}` (status ok/warn/fail/skip). */
export type Diagnosis = DoctorReport & { readonly ms: number };

async function stunAddress(text: string): Promise<{ address: string; port: number }> {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3] ?? STUN_PORT);
  if (!host || port < 1 || port > 65535)
    throw new PortholeError('E_USAGE', { detail: `stun "${text}" is not HOST[:PORT]` });
  if (isIpLiteral(host)) return { address: host, port };
  try {
    return { address: (await lookup(host, { family: 4 })).address, port };
  } catch (error) {
    throw new PortholeError('E_ADDRESS', { detail: `${host} does not resolve`, cause: error });
  }
}

/**
 * Runs the whole diagnosis (listener, host firewall, router, mapping, NAT, outside-in, DNS name)
 * and resolves with findings; a failing hop is a finding with its cause and fix, not an error.
 * Rejects only for bad input (E_PORT_SPEC, E_MANIFEST_*, E_CHECKER_URL).
 */
export async function diagnose(options: DiagnoseOptions = {}): Promise<Diagnosis> {
  const env = options.env ?? process.env;
  const source = typeof options.ports === 'string' ? options.ports : (options.ports?.source ?? '');
  const manifest =
    typeof options.ports === 'object'
      ? options.ports
      : options.ports
        ? await loadManifestOrPorts(options.ports, { expose: true })
        : { name: 'no ports', description: undefined, entries: [], source: '<none>' };
  const checkerSetting = resolveSetting('checker', options.checker?.toString(), env);
  const checker = checkerSetting ? checkerUrl(options.checker?.toString(), env) : undefined;
  const stunText = resolveSetting('stun', options.stun, env)?.value;
  const stun = typeof stunText === 'string' ? await stunAddress(stunText) : undefined;
  const name = resolveSetting('dns.name', options.name, env)?.value;
  return runDoctor(
    {
      manifest,
      statePath: mappingStatePath(env),
      signal: options.signal,
      ...(checker ? { checker } : {}),
      ...(stun ? { stun } : {}),
      ...(typeof name === 'string' ? { name } : {}),
    },
    source,
  );
}
