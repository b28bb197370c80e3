/**
 * A DNS name that follows the public address while expose runs (`expose --name NAME --rfc2136 …`):
 * one pass when the road is taken, or a loop for as long as the road is kept, updating only what
 * differs. Each pass is said as progress.
 */
import { keepName, type NameReport, updateName } from '../dns/index.js';
import type { DoctorOptions } from '../doctor/index.js';
import { addressSource, commonUpdate, type NameSettings } from './nameSettings.js';
import type { RunSession } from './session.js';

/** The name to keep on the public address, and how it is updated. */
export interface NameFollowing {
  readonly name: string;
  /** The update method's settings (`rfc2136` + `tsigKey`, or `dyndns2` + `user` + `passwordFile`, ...). */
  readonly settings: NameSettings;
}

/** The records of one pass, for the result. */
export interface NamePass {
  readonly name: string;
  readonly records: NameReport['records'];
}

/**
 * A minute between looks while kept: a changed address is followed within one, and nothing is
 * sent when it did not change.
 */
const FOLLOW_INTERVAL_MS = 60_000;
/** At most one change per record type this often (a change after a change a second ago waits, then goes). */
const MIN_UPDATE_INTERVAL_MS = 10_000;

/** A name made ready to follow the address: its settings read (secrets included) before anything is made. */
export interface NameFollower {
  /** One pass: the name set on the public address now. */
  once(): Promise<NamePass>;
  /**
   * Keeps the name on the public address until `signal` aborts; a `wake` event on `wake` (the
   * router's address changed) looks again at once; a final refusal ends it with its error.
   */
  keep(signal: AbortSignal, wake?: EventTarget): Promise<{ rounds: number; updates: number; error?: string }>;
}

/**
 * Reads the name's settings, with the run's own checker and STUN server as the address's
 * sources. Rejects at once on bad settings (an unreadable key or password file): expose calls it
 * before it makes anything, so a bad --name never leaves a mapping behind.
 */
export async function prepareNameFollowing(
  session: RunSession,
  following: NameFollowing,
  doctor: DoctorOptions,
): Promise<NameFollower> {
  const settings: NameSettings = {
    ...(doctor.checker ? { checker: doctor.checker.toString() } : {}),
    ...(doctor.stun ? { stun: `${doctor.stun.address}:${doctor.stun.port}` } : {}),
    ...following.settings,
  };
  const common = await commonUpdate(settings, session.env);
  const publicAddresses = await addressSource(settings, session.env);
  return {
    async once() {
      const report = await updateName({
        ...common,
        name: following.name,
        addresses: await publicAddresses(session.abort),
        ...session.abort,
      });
      session.progress({ kind: 'name', name: report.name, updates: report.updates });
      return { name: report.name, records: report.records };
    },
    keep: (signal, wake) =>
      keepName({
        ...common,
        name: following.name,
        publicAddresses,
        intervalMs: FOLLOW_INTERVAL_MS,
        // A change heard from the router is followed within seconds; the limit only stops a
        // flapping address from sending an update per round.
        minUpdateIntervalMs: MIN_UPDATE_INTERVAL_MS,
        signal,
        ...(wake ? { wake } : {}),
        onRound: ({ report, error }) =>
          session.progress({
            kind: 'name',
            name: following.name,
            updates: report?.updates ?? 0,
            ...(error ? { error: `${error.code}: ${error.message}` } : {}),
          }),
      }).catch((error: unknown) => ({ rounds: 0, updates: 0, error: (error as Error).message })),
  };
}
