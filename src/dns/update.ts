/**
 * Keeping a name on an address: decide from facts (the records the authoritative server holds
 * now), update only what differs, A and AAAA each on its own, and remember what was done. One
 * function for one pass (updateName) and one for the loop (keepName).
 */
import { type AbortOptions, sleepOrWake, throwIfAborted } from '../deadline/index.js';
import { type ErrorCode, isPortholeError, PortholeError } from '../errors/index.js';
import { formatIp, parseIp } from '../net/index.js';
import { normalizeName } from './dnsName.js';
import { DYNDNS2_ANSWERS, DYNDNS2_BACKOFF_MS, type Dyndns2Account, dyndns2Error, requestDyndns2 } from './dyndns2.js';
import { findZone, queryAuthoritative } from './query.js';
import { sendUpdate } from './rfc2136.js';
import { type NameState, readNameState, settingsDigest, updateNameState } from './state.js';
import type { DnsServer } from './transport.js';
import type { TsigKey } from './tsig.js';
import { type AddressType, replaceRRset } from './updateCodec.js';

/** How a name is updated: RFC 2136 at its primary server, or a dyndns2 provider. */
export type NameUpdateMethod =
  | {
      readonly kind: 'rfc2136';
      readonly server: DnsServer;
      readonly key: TsigKey;
      /** The zone; found from the server's SOA answer when absent. */
      readonly zone?: string;
      /** TTL of the records written (default 60 s: a dynamic address should not be cached long). */
      readonly ttl?: number;
      /** Seconds added to the signing clock; for tests that provoke BADTIME only. */
      readonly clockOffsetSeconds?: number;
    }
  | { readonly kind: 'dyndns2'; readonly account: Dyndns2Account };

/** The address each record type should hold. */
export interface DesiredAddresses {
  readonly A?: string | undefined;
  readonly AAAA?: string | undefined;
}

/** Options for updateName. */
export interface UpdateNameOptions extends AbortOptions {
  readonly name: string;
  readonly addresses: DesiredAddresses;
  readonly method: NameUpdateMethod;
  /** The name's authoritative server, asked for the current records (default: the RFC 2136 server). */
  readonly lookup?: DnsServer;
  /** The state file (nameStatePath()). */
  readonly statePath: string;
  /** User-Agent for dyndns2 (`porthole/VERSION`). */
  readonly userAgent?: string;
  /** A change is sent at most once per this many ms per record type (default: no limit). */
  readonly minUpdateIntervalMs?: number;
}

/** One record type's outcome. */
export interface NameRecordReport {
  readonly type: AddressType;
  readonly address: string;
  /** What the name held before, as the server (or, without one, our state) said. */
  readonly previous: readonly string[];
  readonly changed: boolean;
  /** A change was due but the rate limit deferred it. */
  readonly deferred: boolean;
  /** Where `previous` came from. */
  readonly source: 'server' | 'state';
}

/** The outcome of one pass. */
export interface NameReport {
  readonly name: string;
  readonly method: 'rfc2136' | 'dyndns2';
  readonly zone: string | undefined;
  readonly records: readonly NameRecordReport[];
  /** Updates sent in this pass. */
  readonly updates: number;
}

const DEFAULT_TTL = 60;

/** The address types to keep, each address checked for its family. */
function desiredRecords(addresses: DesiredAddresses): { type: AddressType; address: string }[] {
  const out: { type: AddressType; address: string }[] = [];
  for (const type of ['A', 'AAAA'] as const) {
    const address = addresses[type];
    if (address === undefined) continue;
    const parsed = parseIp(address);
    if (parsed.family !== (type === 'A' ? 4 : 6)) {
      throw new PortholeError('E_ADDRESS', { detail: `${address} cannot be an ${type} record` });
    }
    // RFC 5952 text, as the server's answer is read: 2001:DB8::1 typed by a person is the record
    // the server holds as 2001:db8::1, and must not look changed on every run.
    out.push({ type, address: formatIp(parsed) });
  }
  if (out.length === 0) throw new PortholeError('E_DNS_NO_ADDRESS', { detail: 'no address to set' });
  return out;
}

/** The refusal a dyndns2 account is held by, when there is one for these settings. */
function holdError(state: NameState | undefined, digest: string, now: number): PortholeError | undefined {
  const hold = state?.hold;
  if (!hold || hold.settings !== digest) return undefined;
  if (hold.until === undefined) {
    return new PortholeError('E_DYNDNS_STOPPED', { detail: `the provider answered "${hold.answer}" at ${hold.at}` });
  }
  if (Date.parse(hold.until) > now) {
    return new PortholeError('E_DYNDNS_BACKOFF', {
      detail: `the provider answered "${hold.answer}"; next try after ${hold.until}`,
    });
  }
  return undefined;
}

function accountDigest(salt: string, account: Dyndns2Account): string {
  return settingsDigest(salt, [account.url.href, account.user, account.password]);
}

/**
 * One pass: reads what the name holds, sends an update for each record type that differs, and
 * records it. A type already right sends nothing. Every failure is a coded PortholeError;
 * dyndns2 refusals are remembered so no further update is sent until the settings change.
 */
export async function updateName(options: UpdateNameOptions): Promise<NameReport> {
  throwIfAborted(options.signal);
  const name = normalizeName(options.name);
  const wanted = desiredRecords(options.addresses);
  const { method } = options;
  const lookup = options.lookup ?? (method.kind === 'rfc2136' ? method.server : undefined);
  const stored = readNameState(options.statePath);
  const nameState = stored.names[name];
  if (method.kind === 'dyndns2') {
    const held = holdError(nameState, accountDigest(stored.salt, method.account), Date.now());
    if (held) throw held;
  }
  const zone =
    method.kind === 'rfc2136'
      ? (method.zone ?? (await findZone(method.server, name, { signal: options.signal })))
      : undefined;
  const records: NameRecordReport[] = [];
  let updates = 0;
  for (const { type, address } of wanted) {
    const previous = lookup
      ? (await queryAuthoritative(lookup, name, type, { signal: options.signal })).addresses
      : (nameState?.records[type]?.addresses ?? []);
    const source = lookup ? 'server' : 'state';
    if (previous.length === 1 && previous[0] === address) {
      records.push({ type, address, previous, changed: false, deferred: false, source });
      continue;
    }
    const last = readNameState(options.statePath).names[name]?.records[type]?.updatedAt;
    if (options.minUpdateIntervalMs && last && Date.now() - Date.parse(last) < options.minUpdateIntervalMs) {
      records.push({ type, address, previous, changed: false, deferred: true, source });
      continue;
    }
    if (method.kind === 'rfc2136') {
      await sendUpdate(
        method.server,
        method.key,
        { zone: zone ?? name, changes: replaceRRset(name, type, [address], method.ttl ?? DEFAULT_TTL) },
        {
          signal: options.signal,
          ...(method.clockOffsetSeconds ? { clockOffsetSeconds: method.clockOffsetSeconds } : {}),
        },
      );
    } else {
      await sendDyndns2(options, method.account, name, address);
    }
    updates++;
    updateNameState(options.statePath, name, (old) => ({
      ...old,
      records: { ...old.records, [type]: { addresses: [address], updatedAt: new Date().toISOString() } },
      updates: old.updates + 1,
    }));
    records.push({ type, address, previous, changed: true, deferred: false, source });
  }
  return { name, method: method.kind, zone, records, updates };
}

async function sendDyndns2(options: UpdateNameOptions, account: Dyndns2Account, name: string, address: string) {
  const reply = await requestDyndns2(account, name, address, {
    userAgent: options.userAgent ?? 'porthole',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const error = dyndns2Error(reply, account.url.origin);
  const action = DYNDNS2_ANSWERS[reply.answer].action;
  if (action === 'stop' || action === 'back-off') {
    const at = new Date();
    updateNameState(options.statePath, name, (old, salt) => ({
      ...old,
      hold: {
        answer: reply.answer,
        settings: accountDigest(salt, account),
        at: at.toISOString(),
        ...(action === 'back-off' ? { until: new Date(at.getTime() + DYNDNS2_BACKOFF_MS).toISOString() } : {}),
      },
    }));
  } else if (action === 'done') {
    // A good answer lifts any earlier back-off.
    updateNameState(options.statePath, name, ({ hold: _hold, ...old }) => old);
  }
  if (error) throw error;
}

/** Errors after which the loop stops: settings that will not work until a person changes them. */
const FINAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'E_DYNDNS_BADAUTH',
  'E_DYNDNS_NOHOST',
  'E_DYNDNS_NOT_YOURS',
  'E_DYNDNS_ABUSE',
  'E_DYNDNS_BADAGENT',
  'E_DYNDNS_STOPPED',
  'E_DYNDNS_NOTFQDN',
  'E_DYNDNS_NUMHOST',
  'E_DNS_BADKEY',
  'E_DNS_BADSIG',
  'E_DNS_REFUSED',
  'E_DNS_NOTAUTH',
  'E_DNS_NOTZONE',
  'E_DNS_NAME',
  'E_ADDRESS',
]);

/** Options for keepName. */
export interface KeepNameOptions extends Omit<UpdateNameOptions, 'addresses'> {
  /** Where the public address comes from each round (the nat module's consensus, or a fixed --ip). */
  readonly publicAddresses: (options: AbortOptions) => Promise<DesiredAddresses>;
  /** Time between rounds. */
  readonly intervalMs: number;
  /** Stop after this many rounds (tests); unbounded otherwise, until the signal aborts. */
  readonly rounds?: number;
  /** Called after every round with its report or the error that ended it. */
  readonly onRound?: (outcome: { report?: NameReport; error?: PortholeError }) => void;
  /**
   * A `wake` event here starts the next round at once (expose sends it when the router says its
   * public address changed, so the name follows within seconds rather than an interval).
   */
  readonly wake?: EventTarget;
}

/** A round whose change the rate limit deferred looks again this soon, not a whole interval later. */
const DEFERRED_RETRY_MS = 5000;

/**
 * Keeps a name on the public address until the signal aborts (then it returns its counts): every interval, reads the public
 * address and the name's records, and updates only what changed (zero updates when nothing
 * did; one per change; at most one per type per `minUpdateIntervalMs`). A passing failure (no
 * answer, a provider back-off) is reported and retried next round; a refusal of the settings
 * ends the loop with its error.
 */
export async function keepName(options: KeepNameOptions): Promise<{ rounds: number; updates: number }> {
  let rounds = 0;
  let updates = 0;
  // Interrupting is how a keep loop ends: it returns what it did, like `expose --keep`.
  while (!options.signal?.aborted) {
    let deferred = false;
    try {
      const addresses = await options.publicAddresses({ signal: options.signal });
      const report = await updateName({ ...options, addresses });
      updates += report.updates;
      deferred = report.records.some((record) => record.deferred);
      options.onRound?.({ report });
    } catch (error) {
      if (options.signal?.aborted) break;
      const coded = isPortholeError(error)
        ? error
        : new PortholeError('E_INTERNAL', { cause: error, detail: String(error) });
      options.onRound?.({ error: coded });
      if (FINAL_CODES.has(coded.code)) throw coded;
    }
    rounds++;
    if (options.rounds !== undefined && rounds >= options.rounds) break;
    await sleepOrWake(deferred ? Math.min(options.intervalMs, DEFERRED_RETRY_MS) : options.intervalMs, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.wake ? { wake: options.wake } : {}),
    });
  }
  return { rounds, updates };
}
