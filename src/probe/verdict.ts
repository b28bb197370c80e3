/**
 * The one rule for "reachable", used by the library, the command line, the doctor, the fleet and
 * the pages: a port is reachable only when the probe from outside was proven to reach this machine
 * (porthole's own listener answered with the proof, or the checker's connection was found among
 * this host's sockets). An open port without that proof is `open-unproven`, never rounded up.
 */
import type { ProbeResult } from './types.js';

/** What a probe from outside showed about one port. Only `proven` says reachable. */
export type Reach =
  /** Open, and proven to reach this machine. */
  | 'proven'
  /** Something answers there, but nothing shows it is this machine. */
  | 'open-unproven'
  /** Something answers there, and the proof shows it is another machine (or another program). */
  | 'not-this-host'
  /** Refused: a device answered that nothing listens (most often the router, with no forward). */
  | 'closed'
  /** No answer: dropped on the way. */
  | 'filtered'
  /** The network said the address cannot be reached. */
  | 'unreachable'
  /** UDP without an answer: a server may have ignored the probe, or a filter dropped it (nmap's open|filtered). */
  | 'no-answer';

/** The reach of one probe result. Pure. */
export function reachOf(result: Pick<ProbeResult, 'state' | 'verified'>): Reach {
  switch (result.state) {
    case 'open':
      return result.verified === true ? 'proven' : result.verified === false ? 'not-this-host' : 'open-unproven';
    case 'open|filtered':
      return 'no-answer';
    default:
      return result.state;
  }
}

/** Whether a reach says reachable: only with proof. */
export function isReachable(reach: Reach): reach is 'proven' {
  return reach === 'proven';
}

/**
 * Whether something answered on the port from outside (proven or not): what a fleet's vantage
 * reports as "got through", leaving the question of which machine answered to the proof.
 */
export function answeredFromOutside(reach: Reach): boolean {
  return reach === 'proven' || reach === 'open-unproven';
}

/** The verdict a person reads for a reach: Success only with proof. */
export const REACH_OUTCOME: Readonly<Record<Reach, 'Success' | 'Unproven' | 'Error'>> = {
  proven: 'Success',
  'open-unproven': 'Unproven',
  'no-answer': 'Unproven',
  'not-this-host': 'Error',
  closed: 'Error',
  filtered: 'Error',
  unreachable: 'Error',
};
