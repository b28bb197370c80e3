/**
 * A DNS name's update settings, as flags or the configuration file give them: the method (RFC 2136
 * with a TSIG key, or dyndns2 with a password file), where the public addresses come from, and the
 * state. `porthole name`, `expose --name` and the local page read them through here. The secrets
 * are read here and handed to src/dns; they are never printed.
 */
import { readFile } from 'node:fs/promises';
import { optionalCheckerUrl } from '../checkerClient/index.js';
import { positiveInteger } from '../config/index.js';
import {
  type DesiredAddresses,
  type NameUpdateMethod,
  nameStatePath,
  normalizeName,
  parseDnsServer,
  publicAddressesFromNat,
  readTsigKeyFile,
} from '../dns/index.js';
import { PortholeError } from '../errors/index.js';
import { stunServer } from '../nat/index.js';
import { parseIp } from '../net/index.js';
import { packageVersion } from '../system/index.js';

/** The settings, keyed as the command line's flags are (`--tsig-key` is `tsigKey`). */
export type NameSettings = Readonly<Record<string, unknown>>;

function stringOption(options: NameSettings, key: string): string | undefined {
  return typeof options[key] === 'string' ? (options[key] as string) : undefined;
}

/** Reads a password file's first line; E_DNS_SECRET_FILE when it cannot. */
export async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PortholeError('E_DNS_SECRET_FILE', {
      detail: `${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      cause: error,
    });
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (!password) throw new PortholeError('E_DNS_SECRET_FILE', { detail: `${path}: the first line is empty` });
  return password;
}

/** The update method from the flags: exactly one of --rfc2136 and --dyndns2, with what each needs. */
async function updateMethod(options: NameSettings, env: NodeJS.ProcessEnv): Promise<NameUpdateMethod> {
  const rfc2136 = stringOption(options, 'rfc2136');
  const dyndns2 = stringOption(options, 'dyndns2');
  if ((rfc2136 === undefined) === (dyndns2 === undefined)) {
    throw new PortholeError('E_USAGE', {
      detail: 'give exactly one of --rfc2136 SERVER and --dyndns2 URL',
      hint: 'porthole name set NAME --rfc2136 SERVER --tsig-key FILE, or --dyndns2 URL --user U --password-file F.',
    });
  }
  if (rfc2136 !== undefined) {
    const keyFile = stringOption(options, 'tsigKey');
    if (!keyFile) throw new PortholeError('E_USAGE', { detail: '--rfc2136 needs --tsig-key FILE' });
    const zone = stringOption(options, 'zone');
    // Test-only: skews the signing clock so a lab test can provoke BADTIME from a real server.
    const offset = Number(env.PORTHOLE_TSIG_CLOCK_OFFSET ?? 0);
    return {
      kind: 'rfc2136',
      server: parseDnsServer(rfc2136, '--rfc2136'),
      key: await readTsigKeyFile(keyFile),
      ttl: positiveInteger(options.ttl, '--ttl', 60, 2_147_483_647),
      ...(zone ? { zone: normalizeName(zone) } : {}),
      ...(Number.isFinite(offset) && offset !== 0 ? { clockOffsetSeconds: offset } : {}),
    };
  }
  const user = stringOption(options, 'user');
  const passwordFile = stringOption(options, 'passwordFile');
  if (!user || !passwordFile)
    throw new PortholeError('E_USAGE', { detail: '--dyndns2 needs --user U and --password-file F' });
  let url: URL;
  try {
    url = new URL(dyndns2 ?? '');
  } catch (error) {
    throw new PortholeError('E_USAGE', { detail: `--dyndns2 "${dyndns2}" is not a URL`, cause: error });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PortholeError('E_USAGE', { detail: `--dyndns2 must be an http(s) URL, not ${url.protocol}` });
  }
  if (url.username || url.password) {
    throw new PortholeError('E_USAGE', {
      detail: '--dyndns2 URL must not carry credentials; use --user and --password-file',
    });
  }
  return { kind: 'dyndns2', account: { url, user, password: await readPasswordFile(passwordFile) } };
}

/** Where the addresses come from: --ip, else the nat module's consensus. */
export async function addressSource(options: NameSettings, env: NodeJS.ProcessEnv) {
  const ip = stringOption(options, 'ip');
  if (ip !== undefined) {
    const fixed: { A?: string; AAAA?: string } = {};
    for (const item of ip.split(',').map((s) => s.trim())) {
      const type = parseIp(item).family === 4 ? 'A' : 'AAAA';
      if (fixed[type]) throw new PortholeError('E_USAGE', { detail: `--ip names two ${type} addresses` });
      fixed[type] = item;
    }
    return async (): Promise<DesiredAddresses> => fixed;
  }
  const stun = stringOption(options, 'stun') ? await stunServer(String(options.stun)) : undefined;
  const checker = optionalCheckerUrl(options.checker, env);
  return (o: { signal?: AbortSignal | undefined }) =>
    publicAddressesFromNat({ ...o, ...(stun ? { stun } : {}), ...(checker ? { checker } : {}) });
}

/** The update settings from the flags (method, state, user agent, lookup server): `name` and `expose --name` share them. */
export async function commonUpdate(options: NameSettings, env: NodeJS.ProcessEnv) {
  const server = stringOption(options, 'server');
  return {
    method: await updateMethod(options, env),
    statePath: nameStatePath(stringOption(options, 'data'), env),
    userAgent: `porthole/${packageVersion()}`,
    ...(server ? { lookup: parseDnsServer(server) } : {}),
  };
}
