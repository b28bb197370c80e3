/** Reading a front's check request's `?vantage=` (the body is the checker's: src/checker/checkBody.ts). Pure. */
import { PortholeError } from '../errors/index.js';
import { isSubjectToken } from './subjects.js';

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
