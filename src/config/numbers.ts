/** Whole-number settings (a flag's value, a configuration key's), checked the same way everywhere. */
import { PortholeError } from '../errors/index.js';

/** A whole number from 0 to `max` (undefined gives `fallback`), or E_USAGE naming the setting. */
export function positiveInteger(value: unknown, name: string, fallback: number, max = 1_000_000): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > max) {
    throw new PortholeError('E_USAGE', {
      detail: `${name} must be a whole number from 0 to ${max}, not "${String(value)}"`,
    });
  }
  return number;
}
