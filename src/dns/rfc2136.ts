/**
 * RFC 2136 dynamic update over UDP, signed with TSIG: send one UPDATE, verify the signed answer,
 * and turn its RCODE or TSIG error into a coded error. The codec and signature are pure
 * (updateCodec.ts, tsig.ts); this file is the thin I/O.
 */
import { randomInt } from 'node:crypto';
import type { AbortOptions } from '../deadline/index.js';
import { type ErrorCode, PortholeError } from '../errors/index.js';
import { type DnsExchangeOptions, type DnsServer, dnsExchange, formatServer } from './transport.js';
import { signMessage, TSIG_ERROR, type TsigKey, verifyResponse } from './tsig.js';
import { encodeUpdate, OPCODE_UPDATE, type UpdateRequest } from './updateCodec.js';

/** RCODE names (RFC 1035, RFC 2136 §2.2) and the code each becomes. */
const RCODES: Record<number, { name: string; code: ErrorCode }> = {
  1: { name: 'FORMERR', code: 'E_DNS_FORMERR' },
  2: { name: 'SERVFAIL', code: 'E_DNS_SERVFAIL' },
  3: { name: 'NXDOMAIN', code: 'E_DNS_NXDOMAIN' },
  4: { name: 'NOTIMP', code: 'E_DNS_NOTIMP' },
  5: { name: 'REFUSED', code: 'E_DNS_REFUSED' },
  6: { name: 'YXDOMAIN', code: 'E_DNS_YXDOMAIN' },
  7: { name: 'YXRRSET', code: 'E_DNS_YXRRSET' },
  8: { name: 'NXRRSET', code: 'E_DNS_NXRRSET' },
  9: { name: 'NOTAUTH', code: 'E_DNS_NOTAUTH' },
  10: { name: 'NOTZONE', code: 'E_DNS_NOTZONE' },
};

/** The coded error for an RCODE other than NOERROR. */
export function rcodeError(rcode: number, where: string): PortholeError {
  const known = RCODES[rcode];
  return new PortholeError(known?.code ?? 'E_DNS_RCODE', {
    detail: `${where} answered ${known?.name ?? `RCODE ${rcode}`}`,
    data: { rcode: known?.name ?? rcode },
  });
}

/** Options for sendUpdate. */
export interface SendUpdateOptions extends DnsExchangeOptions, AbortOptions {
  /**
   * Seconds added to this clock when signing. Only tests use it, to provoke BADTIME; a real
   * skew is fixed with NTP, never with this.
   */
  readonly clockOffsetSeconds?: number;
  /** The message id (random otherwise); fixed only to compare bytes with nsupdate. */
  readonly id?: number;
}

/** What a successful update came to. */
export interface UpdateOutcome {
  readonly server: string;
  readonly id: number;
  /** Milliseconds from send to the verified answer. */
  readonly ms: number;
}

/**
 * Sends one signed UPDATE and waits for its verified answer. Resolves only on NOERROR; every
 * RCODE and TSIG error is a coded PortholeError with a hint. The server applies an UPDATE
 * atomically (RFC 2136 §3.7), so a refused one changed nothing.
 */
export async function sendUpdate(
  server: DnsServer,
  key: TsigKey,
  request: Omit<UpdateRequest, 'id'>,
  options: SendUpdateOptions = {},
): Promise<UpdateOutcome> {
  const id = options.id ?? randomInt(0, 0x10000);
  const where = formatServer(server);
  const now = () => Date.now() / 1000 + (options.clockOffsetSeconds ?? 0);
  const signed = signMessage(encodeUpdate({ ...request, id }), key, { timeSigned: now() });
  const started = performance.now();
  // A definite answer (an RCODE or TSIG error) ends the wait at once; it is returned, not thrown,
  // because a throw means "ignore this datagram and keep waiting".
  const answer = await dnsExchange<PortholeError | true>(
    server,
    signed.bytes,
    (message) => judgeUpdateAnswer(message, { id, key, requestMac: signed.mac, nowSeconds: now(), where }),
    options,
  );
  if (answer !== true) throw answer;
  return { server: where, id, ms: performance.now() - started };
}

/** What judging one datagram needs: the request's id and MAC, the key, this clock, the server's name. */
export interface UpdateAnswerContext {
  readonly id: number;
  readonly key: TsigKey;
  readonly requestMac: Buffer;
  readonly nowSeconds: number;
  readonly where: string;
}

/**
 * One datagram read as the answer to a signed UPDATE, pure: undefined when it is for another
 * request, true for a verified NOERROR, a coded error (returned) for an RCODE or TSIG error;
 * it throws (E_MALFORMED_PACKET, E_DNS_RESPONSE_SIGNATURE, E_DNS_BADTIME) for a datagram to
 * ignore: malformed, forged or altered.
 */
export function judgeUpdateAnswer(message: Buffer, context: UpdateAnswerContext): PortholeError | true | undefined {
  const { id, key, requestMac, nowSeconds, where } = context;
  if (message.length < 2 || message.readUInt16BE(0) !== id) return undefined;
  const { decoded, verdict } = verifyResponse(message, key, requestMac, nowSeconds);
  if (!decoded.response || decoded.opcode !== OPCODE_UPDATE) {
    throw new PortholeError('E_MALFORMED_PACKET', { detail: `${where} answered with opcode ${decoded.opcode}` });
  }
  if (verdict.kind === 'tsig-error') return tsigError(verdict.tsig.error, where, verdict.serverTime, nowSeconds);
  if (decoded.rcode !== 0) return rcodeError(decoded.rcode, where);
  // An unsigned NOERROR could be anyone's: RFC 8945 §5.3.2 says to discard it.
  if (verdict.kind === 'unsigned') {
    throw new PortholeError('E_DNS_RESPONSE_SIGNATURE', {
      detail: `${where} answered NOERROR without a TSIG record`,
    });
  }
  return true;
}

function tsigError(error: number, where: string, serverTime: number | undefined, now: number): PortholeError {
  if (error === TSIG_ERROR.BADSIG) return new PortholeError('E_DNS_BADSIG', { detail: `${where} answered BADSIG` });
  if (error === TSIG_ERROR.BADKEY) return new PortholeError('E_DNS_BADKEY', { detail: `${where} answered BADKEY` });
  if (error === TSIG_ERROR.BADTIME) {
    const skew = serverTime === undefined ? '' : `; its clock is ${Math.round(serverTime - now)} s from ours`;
    return new PortholeError('E_DNS_BADTIME', { detail: `${where} answered BADTIME${skew}` });
  }
  return new PortholeError('E_DNS_RCODE', { detail: `${where} answered TSIG error ${error}` });
}
