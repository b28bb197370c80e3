/** The relay's own host key: generated once (ed25519, OpenSSH format) and kept under the data directory. */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its named exports are read off the default export.
const { utils } = ssh2;

import { PortholeError } from '../errors/index.js';
import { fingerprintOf } from './knownHosts.js';

/** The key file's name, as sshd names its own. */
export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

/**
 * An ed25519 key pair in OpenSSH format that ssh2 itself can read back. ssh2 1.17's generator yields
 * about one key in 500 that its own parser refuses (6 of 3000 measured here): such a key is made again
 * (bounded: a failure eight times in a row is an error).
 */
export function generateEd25519KeyPair(comment: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 8; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new PortholeError('E_INTERNAL', { detail: 'ssh2 generated eight ed25519 keys it cannot parse in a row' });
}

/** Reads the host key under `dataDir`, creating it (0600) on first start; returns it and its fingerprint. */
export function loadOrCreateHostKey(dataDir: string): { privateKey: Buffer; fingerprint: string; created: boolean } {
  const file = join(dataDir, HOST_KEY_FILE);
  let created = false;
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pair = generateEd25519KeyPair('porthole relay');
    writeFileSync(file, pair.private, { mode: 0o600, flag: 'wx' });
    writeFileSync(`${file}.pub`, `${pair.public}\n`, { mode: 0o644 });
    chmodSync(file, 0o600);
    privateKey = Buffer.from(pair.private);
    created = true;
  }
  // ssh2's parser returns an Error for most bad keys but throws (an AssertionError) for a truncated RSA one.
  let parsed: ReturnType<typeof utils.parseKey>;
  try {
    parsed = utils.parseKey(privateKey);
  } catch (error) {
    parsed = error instanceof Error ? error : new Error(String(error));
  }
  if (parsed instanceof Error)
    throw new PortholeError('E_RELAY_HOST_KEY', { detail: `${file}: ${parsed.message}`, cause: parsed });
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return { privateKey, fingerprint: fingerprintOf(key.getPublicSSH()), created };
}
