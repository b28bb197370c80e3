/**
 * Reading values out of PowerShell's JSON, which differs between Windows PowerShell 5.1 and
 * PowerShell 7 and between one object and many. Pure.
 *
 * - A collection of one is serialized as the object itself, not a one-element array.
 * - 5.1 wraps some arrays as `{"value": [...], "Count": n}` (an array that passed through
 *   Select-Object keeps its PSObject wrapper), and writes an empty collection assigned into an
 *   object as `""`; both seen in real Windows Server captures (mondoohq/cnquery's test data).
 * - Enums are numbers in ConvertTo-Json's default output and names with `-EnumsAsStrings`
 *   (PowerShell 7) or after a `[string]` cast; a flags enum cast to a string reads `Domain, Private`.
 * - A calculated property that yields nothing is `{}` or null.
 */

/** The items of something PowerShell serialized as a collection (any of the shapes above). */
export function psList(value: unknown): unknown[] {
  if (value === null || value === undefined || value === '') return [];
  if (Array.isArray(value)) return value;
  if (typeof value === 'object') {
    const wrapped = (value as { value?: unknown }).value;
    if (Array.isArray(wrapped) && 'Count' in (value as object)) return wrapped;
    // `{}` is what an empty calculated property becomes: nothing, not one empty item.
    if (Object.keys(value as object).length === 0) return [];
  }
  return [value];
}

/** The items of a collection that are objects (anything else is dropped). */
export function psObjects(value: unknown): Record<string, unknown>[] {
  return psList(value).filter(
    (item): item is Record<string, unknown> => typeof item === 'object' && item !== null && !Array.isArray(item),
  );
}

/** A scalar as text: strings as they are, numbers as their digits; null, `{}` and arrays are undefined. */
export function psText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A list of strings (a port list, an address list), from a single string or any collection shape. */
export function psStrings(value: unknown): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  return psList(value)
    .map(psText)
    .filter((item): item is string => item !== undefined && item !== '');
}

/** A whole number, from a number or a numeric string. */
export function psInteger(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) ? number : undefined;
}

/**
 * An enum value, from its number or its name (case-insensitive), or undefined when it is
 * neither (a value this version of porthole does not know).
 */
export function psEnum<T>(value: unknown, byNumber: Readonly<Record<number, T>>, byName: Readonly<Record<string, T>>) {
  if (typeof value === 'boolean') return byName[String(value).toLowerCase()];
  const number = psInteger(value);
  if (number !== undefined) return byNumber[number];
  if (typeof value === 'string') return byName[value.trim().toLowerCase()];
  return undefined;
}
