/** The relay's own host key: generated once (ed25519, OpenSSH format) and kept under the data directory. */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its named exports are read off the default export.
const { utils } = ssh2;

import { fingerprintOf } from './knownHosts.js';

/** The key file's name, as sshd names its own. */
export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

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
    const pair = utils.generateKeyPairSync('ed25519', { comment: 'porthole relay' });
    writeFileSync(file, pair.private, { mode: 0o600, flag: 'wx' });
    writeFileSync(`${file}.pub`, `${pair.public}\n`, { mode: 0o644 });
    chmodSync(file, 0o600);
    privateKey = Buffer.from(pair.private);
    created = true;
  }
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`${file}: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return { privateKey, fingerprint: fingerprintOf(key.getPublicSSH()), created };
}
