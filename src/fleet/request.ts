/** Reading a front's check request: the body (ports, proof key) and `?vantage=`. Pure. */
import { PortholeError } from '../errors/index.js';
import { isSubjectToken } from './subjects.js';

/** The JSON body of POST /v1/check, as sent (unchecked). */
export interface CheckBody {
  ports?: unknown;
  proof?: { key?: unknown };
}

/** Reads the ports of a request body: a spec string, or a list of numbers and spec strings. */
export function portsOf(body: CheckBody): string {
  const { ports } = body;
  if (typeof ports === 'string') return ports;
  if (typeof ports === 'number') return String(ports);
  if (Array.isArray(ports) && ports.every((item) => typeof item === 'string' || typeof item === 'number'))
    return ports.join(',');
  throw new PortholeError('E_CHECK_REQUEST', { detail: '"ports" must be a port spec string or a list of ports' });
}

/** The caller's proof key (16 to 64 bytes), re-encoded as base64; undefined when none was sent. */
export function proofKeyOf(body: CheckBody): string | undefined {
  if (body.proof === undefined) return undefined;
  const key = typeof body.proof?.key === 'string' ? Buffer.from(body.proof.key, 'base64') : undefined;
  if (!key || key.length < 16 || key.length > 64) {
    throw new PortholeError('E_CHECK_REQUEST', { detail: '"proof.key" must be 16 to 64 bytes in base64' });
  }
  return key.toString('base64');
}

/** Reads `?vantage=`: absent or `all`, or a list of vantage or region names. */
export function parseVantageSelector(text: unknown): 'all' | string[] {
  if (text === undefined || text === '' || text === 'all') return 'all';
  const items = String(text)
    .split(',')
    .map((item) => item.trim());
  const bad = items.filter((item) => !isSubjectToken(item));
  if (bad.length > 0 || items.length > 32) {
    throw new PortholeError('E_FLEET_SELECTOR', { detail: `"${String(text)}"` });
  }
  return items;
}
