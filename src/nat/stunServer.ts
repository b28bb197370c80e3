/** A STUN server named by a person (`HOST[:PORT]`, `[V6]:PORT`): parsed, and a name resolved to IPv4. */
import { lookup } from 'node:dns/promises';
import { PortholeError } from '../errors/index.js';
import { isIpLiteral } from '../net/index.js';

/** STUN's well-known port (RFC 8489). */
const STUN_PORT = 3478;

/** Parses HOST[:PORT] or [V6]:PORT and resolves a name to an IPv4 address (E_USAGE, E_ADDRESS). */
export async function stunServer(text: string): Promise<{ address: string; port: number }> {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3] ?? STUN_PORT);
  if (!host || port < 1 || port > 65535)
    throw new PortholeError('E_USAGE', { detail: `--stun "${text}" is not HOST[:PORT]` });
  if (isIpLiteral(host)) return { address: host, port };
  try {
    return { address: (await lookup(host, { family: 4 })).address, port };
  } catch (error) {
    throw new PortholeError('E_ADDRESS', { detail: `${host} does not resolve`, cause: error });
  }
}
