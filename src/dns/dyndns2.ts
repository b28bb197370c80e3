/**
 * The dyndns2 protocol (DynDNS's /nic/update, spoken by most DDNS providers and by ddclient):
 * the answer codec (pure) and one update over HTTP with Basic auth and a User-Agent that names
 * porthole, as the protocol asks of clients.
 */

import { get as plainGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isIP } from 'node:net';
import { type AbortOptions, abortReason, settleOnce, withDeadline } from '../deadline/index.js';
import { type ErrorCode, PortholeError } from '../errors/index.js';

/** Every answer the protocol defines (and the legacy ones providers still send). */
export type Dyndns2Answer =
  | 'good'
  | 'nochg'
  | 'badauth'
  | 'notfqdn'
  | 'nohost'
  | 'numhost'
  | 'abuse'
  | 'badagent'
  | 'dnserr'
  | '911'
  | '!yours'
  | '!donator'
  | 'badsys';

/** What the client must do after an answer. */
export type Dyndns2Action = 'done' | 'stop' | 'back-off' | 'fix-input';

/** Per answer: the action the protocol asks for and the coded error for a failure. */
export const DYNDNS2_ANSWERS: Readonly<Record<Dyndns2Answer, { action: Dyndns2Action; code?: ErrorCode }>> = {
  good: { action: 'done' },
  nochg: { action: 'done' },
  // The protocol: a client must not retry these until the user changes something.
  badauth: { action: 'stop', code: 'E_DYNDNS_BADAUTH' },
  nohost: { action: 'stop', code: 'E_DYNDNS_NOHOST' },
  '!yours': { action: 'stop', code: 'E_DYNDNS_NOT_YOURS' },
  abuse: { action: 'stop', code: 'E_DYNDNS_ABUSE' },
  badagent: { action: 'stop', code: 'E_DYNDNS_BADAGENT' },
  '!donator': { action: 'stop', code: 'E_DYNDNS_BADAGENT' },
  badsys: { action: 'stop', code: 'E_DYNDNS_BADAGENT' },
  notfqdn: { action: 'fix-input', code: 'E_DYNDNS_NOTFQDN' },
  numhost: { action: 'fix-input', code: 'E_DYNDNS_NUMHOST' },
  // Trouble at the provider: wait (the protocol says at least 30 minutes for 911).
  dnserr: { action: 'back-off', code: 'E_DYNDNS_DNSERR' },
  '911': { action: 'back-off', code: 'E_DYNDNS_911' },
};

/** How long to back off after 911 or dnserr. */
export const DYNDNS2_BACKOFF_MS = 30 * 60_000;
/** The most of an answer we read: answers are one short line per host. */
const MAX_ANSWER_BYTES = 4096;

/** One decoded answer line. */
export interface Dyndns2Reply {
  readonly answer: Dyndns2Answer;
  /** The address the provider now holds (good and nochg carry it). */
  readonly address: string | undefined;
}

/** Decodes the first line of an answer body; E_DYNDNS_ANSWER for anything else. */
export function decodeDyndns2Answer(body: string): Dyndns2Reply {
  const line = body.trim().split(/\r?\n/)[0]?.trim() ?? '';
  const [word = '', address] = line.split(/\s+/);
  // good and nochg carry the address the provider now holds: anything else there is not an answer.
  if (!Object.hasOwn(DYNDNS2_ANSWERS, word) || (address !== undefined && isIP(address) === 0)) {
    throw new PortholeError('E_DYNDNS_ANSWER', { detail: JSON.stringify(line.slice(0, 80)) });
  }
  return { answer: word as Dyndns2Answer, address };
}

/** The coded error for a failing answer (undefined for good and nochg). */
export function dyndns2Error(reply: Dyndns2Reply, where: string): PortholeError | undefined {
  const entry = DYNDNS2_ANSWERS[reply.answer];
  if (!entry.code) return undefined;
  return new PortholeError(entry.code, {
    detail: `${where} answered "${reply.answer}"`,
    data: { answer: reply.answer },
  });
}

/** A dyndns2 account. The password stays in memory; it is never printed or stored. */
export interface Dyndns2Account {
  /** The update URL, e.g. https://members.dyndns.example/nic/update. */
  readonly url: URL;
  readonly user: string;
  readonly password: string;
}

/** Options for one request. */
export interface Dyndns2Options extends AbortOptions {
  readonly userAgent: string;
  readonly timeoutMs?: number;
}

/** The request URL for a name and address (the path is the account's, the query ours). */
export function dyndns2RequestUrl(account: Dyndns2Account, hostname: string, address: string | undefined): URL {
  const url = new URL(account.url);
  url.searchParams.set('hostname', hostname);
  if (address !== undefined) url.searchParams.set('myip', address);
  return url;
}

/** One GET with node:http(s): lighter to load than fetch, which matters for a one-shot command. */
function httpGet(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  return settleOnce<{ status: number; body: string }>(signal, (done) => {
    const get = url.protocol === 'https:' ? httpsGet : plainGet;
    const request = get(url, { headers, signal }, (response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        // Answers are one short line per host: read no more than the cap.
        if (length < MAX_ANSWER_BYTES) chunks.push(chunk);
        length += chunk.length;
      });
      response.on('end', () =>
        done(undefined, {
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES),
        }),
      );
      response.on('error', (error) => done(error));
    });
    request.on('error', (error) => done(error));
  });
}

/** Sends one update and decodes the answer (a failing answer is returned; the caller decides). */
export async function requestDyndns2(
  account: Dyndns2Account,
  hostname: string,
  address: string | undefined,
  options: Dyndns2Options,
): Promise<Dyndns2Reply> {
  const url = dyndns2RequestUrl(account, hostname, address);
  const where = url.origin;
  const signal = withDeadline(options.signal, options.timeoutMs ?? 15_000, `dyndns2 update at ${where}`);
  const auth = Buffer.from(`${account.user}:${account.password}`).toString('base64');
  let response: { status: number; body: string };
  try {
    response = await httpGet(url, { authorization: `Basic ${auth}`, 'user-agent': options.userAgent }, signal);
  } catch (error) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const detail = signal.aborted ? `${where} did not answer in time` : `${where}: ${(error as Error).message}`;
    throw new PortholeError('E_DNS_NO_ANSWER', { detail, cause: error });
  }
  const { status, body } = response;
  // Many providers answer badauth with HTTP 401 and a body, some with a bare 401.
  if (status === 401 && !body.trim()) return { answer: 'badauth', address: undefined };
  try {
    return decodeDyndns2Answer(body);
  } catch (error) {
    throw new PortholeError('E_DYNDNS_ANSWER', {
      detail: `${where} answered HTTP ${status}: ${JSON.stringify(body.trim().slice(0, 80))}`,
      cause: error,
    });
  }
}
