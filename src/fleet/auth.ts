/**
 * NATS credentials from a file, pure: an nkey seed (`SU…`, from `nk -gen user`), a `.creds`
 * file (JWT plus seed, from nsc), or `user:password` on one line. A file, never a flag, so
 * secrets stay out of `ps` and shell history.
 */
import { PortholeError } from '../errors/index.js';

/** What an auth file holds. */
export type NatsCredentials =
  | { readonly kind: 'nkey'; readonly seed: string }
  | { readonly kind: 'creds'; readonly text: string }
  | { readonly kind: 'user'; readonly user: string; readonly password: string };

/** Reads the contents of an auth file; throws E_FLEET_AUTH_FILE when it is none of the three. */
export function parseNatsCredentials(text: string, path = 'the auth file'): NatsCredentials {
  if (text.includes('-----BEGIN NATS USER JWT-----')) return { kind: 'creds', text };
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
  const [first] = lines;
  // A user nkey seed: base32, starting SU (seed, user).
  if (lines.length === 1 && first && /^SU[A-Z2-7]{56}$/.test(first)) return { kind: 'nkey', seed: first };
  const colon = first?.indexOf(':') ?? -1;
  if (lines.length === 1 && first && colon > 0 && colon < first.length - 1) {
    return { kind: 'user', user: first.slice(0, colon), password: first.slice(colon + 1) };
  }
  throw new PortholeError('E_FLEET_AUTH_FILE', {
    detail: `${path} holds neither an nkey seed (SU…), a .creds file, nor one "user:password" line`,
  });
}
