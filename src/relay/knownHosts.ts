/**
 * Host-key pinning in OpenSSH's known_hosts format: trust on first use, recorded in porthole's
 * own file (not ~/.ssh/known_hosts, which belongs to the user's ssh), and a changed key is a
 * hard error. Hashed entries (`|1|...`) written by `ssh-keygen -H` are matched too.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PortholeError } from '../errors/index.js';
import { DEFAULT_SSH_PORT } from './url.js';

/** The name known_hosts uses for a host: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === DEFAULT_SSH_PORT ? host : `[${host}]:${port}`;
}

/** The key type carried in an SSH public key blob (its first string). */
export function keyTypeOf(blob: Uint8Array): string {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
  if (bytes.length < 4) return 'unknown';
  const length = bytes.readUInt32BE(0);
  return length > 0 && length < 64 && bytes.length >= 4 + length
    ? bytes.subarray(4, 4 + length).toString('latin1')
    : 'unknown';
}

/** OpenSSH's SHA256 fingerprint of a key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOf(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** One known_hosts line for a host and key. */
export function encodeKnownHostsLine(host: string, port: number, blob: Uint8Array): string {
  return `${knownHostsName(host, port)} ${keyTypeOf(blob)} ${Buffer.from(blob).toString('base64')}`;
}

function nameMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = pattern.split('|');
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern.split(',').some((entry) => entry === name);
}

/** The keys (base64 blobs) known_hosts text records for a host, by key type. */
export function knownKeysFor(text: string, host: string, port: number): Map<string, string[]> {
  const name = knownHostsName(host, port);
  const keys = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [names = '', type = '', key = ''] = line.split(/\s+/);
    if (!key || !nameMatches(names, name)) continue;
    keys.set(type, [...(keys.get(type) ?? []), key]);
  }
  return keys;
}

/** What pinning decided. */
export type HostKeyVerdict = 'known' | 'recorded';

/** porthole's known_hosts file under a data directory. */
export function knownHostsPath(dataDir: string): string {
  return join(dataDir, 'known_hosts');
}

/**
 * Checks a relay's host key against the file: `known` when it matches, `recorded` (appended)
 * when the host had no key of this type yet, and E_RELAY_HOST_KEY_CHANGED when it differs.
 */
export function pinHostKey(file: string, host: string, port: number, blob: Uint8Array): HostKeyVerdict {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const known = knownKeysFor(text, host, port);
  const offered = Buffer.from(blob).toString('base64');
  const type = keyTypeOf(blob);
  if (known.get(type)?.includes(offered)) return 'known';
  if (known.size > 0) {
    const name = knownHostsName(host, port);
    throw new PortholeError('E_RELAY_HOST_KEY_CHANGED', {
      detail: `${name} offered ${type} ${fingerprintOf(blob)}, not the key recorded in ${file}`,
      hint: `If the relay was reinstalled on purpose: ssh-keygen -R '${name}' -f ${file}, then connect again. Otherwise do not connect: someone may be intercepting it.`,
      data: { knownHosts: file, host: name, fingerprint: fingerprintOf(blob) },
    });
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${encodeKnownHostsLine(host, port, blob)}\n`, { mode: 0o600 });
  return 'recorded';
}
