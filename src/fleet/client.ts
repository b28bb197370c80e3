/** Asking a fleet front for a check from several vantages: POST /v1/check?vantage=…, with a deadline. */
import { type AbortOptions, withDeadline } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import type { FleetCheckResponse } from './types.js';

/** A front may wait its own deadline (15 s by default) plus the HTTP round trip. */
const FLEET_CHECK_DEADLINE_MS = 45_000;

/** Asks the front at `checker` to check `ports` from the vantages `selector` names (`all` or a list). */
export async function requestFleetCheck(
  checker: URL,
  ports: string,
  proofKey: Uint8Array | undefined,
  selector: string,
  options: AbortOptions = {},
): Promise<FleetCheckResponse> {
  const url = new URL('/v1/check', checker);
  url.searchParams.set('vantage', selector);
  const signal = withDeadline(options.signal, FLEET_CHECK_DEADLINE_MS, `request to ${url.origin}`);
  const body = { ports, ...(proofKey ? { proof: { key: Buffer.from(proofKey).toString('base64') } } : {}) };
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new PortholeError('E_CHECKER_UNREACHABLE', {
      detail: `${url.origin}: ${cause?.code ?? (error as Error).message}`,
      cause: error,
    });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PortholeError('E_CHECKER_REFUSED', {
      detail: `${url.origin} answered ${response.status} with something other than JSON`,
    });
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; hint?: string } }).error;
    throw new PortholeError('E_CHECKER_REFUSED', {
      detail: `${error?.code ?? response.status}: ${error?.message ?? 'no reason given'}`,
      ...(error?.hint ? { hint: error.hint } : {}),
      data: { status: response.status, checkerCode: error?.code },
    });
  }
  if (!Array.isArray((parsed as { vantages?: unknown }).vantages)) {
    throw new PortholeError('E_FLEET_NOT_FRONT', { detail: url.origin });
  }
  return parsed as FleetCheckResponse;
}
