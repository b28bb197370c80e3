/**
 * What diagnose and expose are asked, resolved once for every surface (the command line, the
 * library, the local page): ports or a manifest, and the checker, STUN server, DNS name and relay
 * from the caller, else the environment, else the configuration file (src/config's one
 * precedence). Nothing here names a public service: an unset checker stays unset.
 */
import { checkerUrl } from '../checkerClient/index.js';
import { resolveSetting } from '../config/index.js';
import type { DoctorOptions } from '../doctor/index.js';
import { PortholeError } from '../errors/index.js';
import { mappingStatePath } from '../gateway/index.js';
import { loadManifestOrPorts, type Manifest } from '../manifest/index.js';
import { stunServer } from '../nat/index.js';
import { requiredFolder } from '../system/index.js';
import type { RelaySettings } from './roads/types.js';

/** What a run is asked about (every field optional: the configuration fills what it names). */
export interface RunInputs {
  /** Ports (`7001`, `7001/udp,7002`), a manifest file's path, or a loaded manifest; none checks the router, NAT and name only. */
  readonly ports?: string | Manifest;
  /** Check service; default $PORTHOLE_CHECKER, then the configuration file; none skips the outside-in checks. */
  readonly checker?: string | URL;
  /** STUN server `HOST[:PORT]`; default $PORTHOLE_STUN, then the configuration file. */
  readonly stun?: string;
  /** A DNS name that should point at the public address; default the configured `dns.name`. */
  readonly name?: string;
  /** Your relay, `ssh://USER@HOST[:PORT]`; default $PORTHOLE_RELAY, then `relay.url`. */
  readonly relay?: string;
}

/** The empty manifest: without ports the doctor still checks the router, the NAT and the name. */
const NO_PORTS: Manifest = { name: 'no ports', description: undefined, entries: [], source: '<none>' };

/** A configured text value, or undefined. */
function setting(key: string, given: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const value = resolveSetting(key, given, env)?.value;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The doctor's options from what a run is asked, with the configuration's defaults. */
export async function doctorOptionsOf(inputs: RunInputs, env: NodeJS.ProcessEnv): Promise<DoctorOptions> {
  const manifest =
    typeof inputs.ports === 'object'
      ? inputs.ports
      : inputs.ports
        ? await loadManifestOrPorts(inputs.ports, { expose: true })
        : NO_PORTS;
  const source = typeof inputs.ports === 'string' ? inputs.ports : (inputs.ports?.source ?? '');
  const checkerGiven = inputs.checker?.toString();
  const checker = resolveSetting('checker', checkerGiven, env) ? checkerUrl(checkerGiven, env) : undefined;
  const stunText = setting('stun', inputs.stun, env);
  const stun = stunText ? await stunServer(stunText) : undefined;
  const name = setting('dns.name', inputs.name, env);
  const relay = setting('relay.url', inputs.relay, env);
  return {
    manifest,
    source,
    statePath: mappingStatePath(env),
    ...(checker ? { checker } : {}),
    ...(stun ? { stun } : {}),
    ...(name ? { name } : {}),
    ...(relay ? { relayUrl: relay } : {}),
  };
}

/**
 * The relay URL as given, with the configured user (relay.user, PORTHOLE_RELAY_USER) put in when
 * the URL names none: `--relay ssh://relay.example.net` then logs in as that user.
 */
export function relayUrlWithUser(url: string, env: NodeJS.ProcessEnv): string {
  if (!/^ssh:\/\/[^@/]+$/.test(url.replace(/\/$/, ''))) return url;
  const user = setting('relay.user', undefined, env);
  return user ? url.replace('ssh://', `ssh://${encodeURIComponent(user)}@`) : url;
}

/** What a relay road needs, from the caller's choices and the configuration (E_RELAY_URL on a bad URL). */
export async function relaySettingsOf(
  given: {
    readonly url?: string;
    readonly only?: boolean;
    readonly proxyProtocol?: 'v1' | 'v2';
    readonly identityFile?: string;
    readonly dataDir?: string;
  },
  env: NodeJS.ProcessEnv,
): Promise<RelaySettings | undefined> {
  const url = setting('relay.url', given.url, env);
  if (!url) {
    if (given.only) throw new PortholeError('E_USAGE', { detail: '--relay-only needs --relay URL' });
    return undefined;
  }
  const withUser = relayUrlWithUser(url, env);
  // The relay module (SSH, its server's metrics) loads only when a relay is configured.
  const { parseRelayUrl } = await import('../relay/index.js');
  parseRelayUrl(withUser);
  const identityFile = given.identityFile ?? setting('relay.keyFile', undefined, env);
  return {
    url: withUser,
    dataDir: given.dataDir ?? requiredFolder('data', env),
    only: given.only === true,
    ...(given.proxyProtocol ? { proxyProtocol: given.proxyProtocol } : {}),
    ...(identityFile ? { identityFile } : {}),
  };
}
