/**
 * The fleet's messages as bytes, pure (no sockets): signed check orders (Ed25519 over the
 * order's exact JSON bytes), vantage replies and heartbeats. Every decoder caps its input
 * and throws a coded error for anything malformed.
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { PortholeError } from '../errors/index.js';
import type { ProbeResult } from '../probe/index.js';
import type { CheckOrder, VantageHeartbeat, VantageIdentity, VantageReply } from './types.js';

/** Largest fleet message accepted: an order for 64 ports or a result for them is a few KB. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Clock difference tolerated between a front and a vantage when judging expiry. */
export const CLOCK_SKEW_MS = 30_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new PortholeError('E_FLEET_MESSAGE', { detail: `${what} of ${bytes.length} bytes is over the cap` });
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new PortholeError('E_FLEET_MESSAGE', { detail: `${what} is not JSON` });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PortholeError('E_FLEET_MESSAGE', { detail: `${what} is not a JSON object` });
  }
  return value as Record<string, unknown>;
}

function field<T>(record: Record<string, unknown>, key: string, type: string, what: string): T {
  const value = record[key];
  if (typeof value !== type)
    throw new PortholeError('E_FLEET_MESSAGE', { detail: `${what}: "${key}" is not a ${type}` });
  return value as T;
}

/** Signs an order: the signature covers the order's JSON bytes exactly as sent. */
export function encodeSignedOrder(order: CheckOrder, privateKey: KeyObject): Uint8Array {
  const body = Buffer.from(JSON.stringify(order));
  const signature = sign(null, body, privateKey);
  return encoder.encode(JSON.stringify({ v: 1, order: body.toString('base64'), sig: signature.toString('base64') }));
}

/**
 * Verifies and decodes an order. Throws E_FLEET_MESSAGE (malformed), E_FLEET_SIGNATURE (not
 * signed by the front's key) or E_FLEET_ORDER_EXPIRED.
 */
export function decodeSignedOrder(bytes: Uint8Array, publicKey: KeyObject, now = Date.now()): CheckOrder {
  const envelope = parseJson(bytes, 'order');
  if (envelope.v !== 1) throw new PortholeError('E_FLEET_MESSAGE', { detail: `order version ${String(envelope.v)}` });
  const body = Buffer.from(field<string>(envelope, 'order', 'string', 'order'), 'base64');
  const signature = Buffer.from(field<string>(envelope, 'sig', 'string', 'order'), 'base64');
  // Verify before reading a single field: nothing unsigned may steer a probe.
  if (signature.length !== 64 || !verify(null, body, publicKey, signature)) {
    throw new PortholeError('E_FLEET_SIGNATURE');
  }
  const order = parseJson(body, 'order body');
  const decoded: CheckOrder = {
    id: field<string>(order, 'id', 'string', 'order'),
    target: field<string>(order, 'target', 'string', 'order'),
    ports: field<string>(order, 'ports', 'string', 'order'),
    ...(order.proofKey !== undefined ? { proofKey: field<string>(order, 'proofKey', 'string', 'order') } : {}),
    probeTimeoutMs: field<number>(order, 'probeTimeoutMs', 'number', 'order'),
    keepaliveMs: field<number>(order, 'keepaliveMs', 'number', 'order'),
    issuedAt: field<number>(order, 'issuedAt', 'number', 'order'),
    expiresAt: field<number>(order, 'expiresAt', 'number', 'order'),
  };
  if (now > decoded.expiresAt + CLOCK_SKEW_MS || decoded.issuedAt > now + CLOCK_SKEW_MS) {
    throw new PortholeError('E_FLEET_ORDER_EXPIRED', {
      detail: `issued ${new Date(decoded.issuedAt).toISOString()}, valid until ${new Date(decoded.expiresAt).toISOString()}`,
    });
  }
  return decoded;
}

/** A vantage reply as bytes. */
export function encodeReply(reply: VantageReply): Uint8Array {
  return encoder.encode(JSON.stringify(reply));
}

function identityOf(record: Record<string, unknown>): VantageIdentity {
  const vantage = record.vantage as Record<string, unknown> | undefined;
  if (typeof vantage !== 'object' || vantage === null) {
    throw new PortholeError('E_FLEET_MESSAGE', { detail: 'reply: "vantage" missing' });
  }
  return {
    name: field<string>(vantage, 'name', 'string', 'reply'),
    region: field<string>(vantage, 'region', 'string', 'reply'),
  };
}

/** Decodes a vantage reply; throws E_FLEET_MESSAGE when malformed. */
export function decodeReply(bytes: Uint8Array): VantageReply {
  const record = parseJson(bytes, 'reply');
  const id = field<string>(record, 'id', 'string', 'reply');
  const vantage = identityOf(record);
  switch (record.kind) {
    case 'accepted':
    case 'working':
      return { kind: record.kind, id, vantage };
    case 'result': {
      if (!Array.isArray(record.results)) throw new PortholeError('E_FLEET_MESSAGE', { detail: 'reply: no results' });
      return {
        kind: 'result',
        id,
        vantage,
        results: record.results as ProbeResult[],
        ms: field<number>(record, 'ms', 'number', 'reply'),
      };
    }
    case 'refused': {
      const error = record.error as { code?: unknown; message?: unknown } | undefined;
      return {
        kind: 'refused',
        id,
        vantage,
        error: { code: String(error?.code ?? 'E_INTERNAL'), message: String(error?.message ?? '') },
      };
    }
    default:
      throw new PortholeError('E_FLEET_MESSAGE', { detail: `reply kind ${String(record.kind)}` });
  }
}

/** A heartbeat as bytes. */
export function encodeHeartbeat(heartbeat: VantageHeartbeat): Uint8Array {
  return encoder.encode(JSON.stringify(heartbeat));
}

/** Decodes a heartbeat; throws E_FLEET_MESSAGE when malformed. */
export function decodeHeartbeat(bytes: Uint8Array): VantageHeartbeat {
  const record = parseJson(bytes, 'heartbeat');
  return {
    ...identityOf({ vantage: record }),
    at: field<number>(record, 'at', 'number', 'heartbeat'),
    probed: field<number>(record, 'probed', 'number', 'heartbeat'),
    running: field<number>(record, 'running', 'number', 'heartbeat'),
    refused: field<number>(record, 'refused', 'number', 'heartbeat'),
    version: field<string>(record, 'version', 'string', 'heartbeat'),
    intervalMs: field<number>(record, 'intervalMs', 'number', 'heartbeat'),
  };
}
