/** How the client logs in to a relay: a token, a given key file, ~/.ssh's default keys, or the agent. */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its named exports are read off the default export.
const { utils } = ssh2;

import { PortholeError } from '../errors/index.js';

/** OpenSSH's default identity files, in its order of preference. */
const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** Credentials for ssh2's connect config. */
export interface RelayCredentials {
  readonly password?: string;
  readonly privateKey?: Buffer;
  readonly agent?: string;
  /** Where the key came from, for messages. */
  readonly source: string;
}

/** What the caller may give. */
export interface IdentityOptions {
  readonly token?: string | undefined;
  readonly identityFile?: string | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly home?: string | undefined;
}

function readKey(file: string): Buffer | undefined {
  try {
    const key = readFileSync(file);
    // A key ssh2 cannot parse (encrypted without passphrase, unknown type) is skipped, as ssh does.
    return utils.parseKey(key) instanceof Error ? undefined : key;
  } catch {
    return undefined;
  }
}

/**
 * Picks credentials: a token wins; a named identity file must exist and parse (E_RELAY_NO_IDENTITY
 * otherwise); else the first readable default key, with SSH_AUTH_SOCK's agent beside it.
 */
export function resolveCredentials(options: IdentityOptions): RelayCredentials {
  const env = options.env ?? process.env;
  const agent = env.SSH_AUTH_SOCK || undefined;
  if (options.token) return { password: options.token, source: 'token' };
  if (options.identityFile) {
    const key = readKey(options.identityFile);
    if (!key) {
      throw new PortholeError('E_RELAY_NO_IDENTITY', {
        detail: `${options.identityFile} is not a readable, unencrypted OpenSSH private key`,
      });
    }
    return { privateKey: key, source: options.identityFile, ...(agent ? { agent } : {}) };
  }
  const sshDir = join(options.home ?? homedir(), '.ssh');
  for (const name of DEFAULT_KEYS) {
    const key = readKey(join(sshDir, name));
    if (key) return { privateKey: key, source: join(sshDir, name), ...(agent ? { agent } : {}) };
  }
  if (agent) return { agent, source: 'ssh-agent' };
  throw new PortholeError('E_RELAY_NO_IDENTITY', { detail: `no key in ${sshDir} and SSH_AUTH_SOCK is not set` });
}
