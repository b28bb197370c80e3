/**
 * The TSIG key file as `tsig-keygen` writes it and `nsupdate -k` reads it:
 *   key "name" { algorithm hmac-sha256; secret "base64"; };
 * Parsing is pure; reading refuses nothing but says nothing of the secret in any message.
 */
import { readFile } from 'node:fs/promises';
import { PortholeError } from '../errors/index.js';
import { normalizeName } from './dnsName.js';
import { isTsigAlgorithm, type TsigKey } from './tsig.js';

function keyFileError(detail: string, cause?: unknown): PortholeError {
  return new PortholeError('E_DNS_KEY_FILE', { detail, ...(cause === undefined ? {} : { cause }) });
}

/**
 * named.conf comments (#, // and /* *\/) removed outside quoted strings: a base64 secret can
 * itself hold "//" or "/*".
 */
function withoutComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      const stop = end < 0 ? text.length : end + 1;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === '#' || text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Parses the first `key` clause of a named.conf-style key file. */
export function parseTsigKeyFile(text: string, source = 'key file'): TsigKey {
  const clean = withoutComments(text);
  const clause = /key\s+"?([A-Za-z0-9._-]+)"?\s*\{([^}]*)\}\s*;/.exec(clean);
  if (!clause) throw keyFileError(`${source}: no key "NAME" { ... }; clause`);
  const body = clause[2] ?? '';
  const algorithm = /algorithm\s+"?([A-Za-z0-9.-]+)"?\s*;/.exec(body)?.[1]?.toLowerCase().replace(/\.$/, '');
  const secret = /secret\s+"([A-Za-z0-9+/=\s]+)"\s*;/.exec(body)?.[1]?.replace(/\s/g, '');
  if (!algorithm) throw keyFileError(`${source}: the key has no algorithm`);
  if (!isTsigAlgorithm(algorithm)) {
    throw keyFileError(`${source}: algorithm ${algorithm} is not one of hmac-sha256, hmac-sha512, hmac-sha1`);
  }
  if (!secret) throw keyFileError(`${source}: the key has no base64 secret`);
  const bytes = Buffer.from(secret, 'base64');
  if (bytes.length === 0) throw keyFileError(`${source}: the secret is empty`);
  let name: string;
  try {
    name = normalizeName(clause[1] ?? '');
  } catch (error) {
    throw keyFileError(`${source}: the key name is not a DNS name`, error);
  }
  return { name, algorithm, secret: bytes };
}

/** Reads and parses a key file; E_DNS_KEY_FILE when it cannot. */
export async function readTsigKeyFile(path: string): Promise<TsigKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw keyFileError(`${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, error);
  }
  return parseTsigKeyFile(text, path);
}
