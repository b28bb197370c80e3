/**
 * What a verdict means, in the words of seed 000's "Success" / "Error" — one table used by
 * the command line and the web page, so both say the same thing.
 */
import type { ProbeState } from '../probe/types.js';

/** A verdict for a person: Success or Error, and what it means. */
export interface Explanation {
  /** `Unproven`: open, but nothing shows it is this machine that answers (never rounded up to Success). */
  readonly outcome: 'Success' | 'Error' | 'Unproven';
  readonly meaning: string;
}

/** Explanations by state (and, for open, by proof). */
export const EXPLANATIONS = {
  'open-verified': { outcome: 'Success', meaning: 'The port reaches this machine: the answer carried its proof.' },
  'open-unverified': {
    outcome: 'Unproven',
    meaning:
      'Open, but not proven to reach this computer: something answers on this port from the internet, and nothing shows it is this machine (a forward may point at another device). Run the check on the server itself, or with --listen before the server starts.',
  },
  'open-other': {
    outcome: 'Error',
    meaning:
      'Something answers, but not this machine: the router forwards the port to another device or another port, or another program answers there.',
  },
  closed: {
    outcome: 'Error',
    meaning:
      'Refused: a device answered but nothing listens on the port, or there is no forward for it (the router itself refused).',
  },
  filtered: {
    outcome: 'Error',
    meaning:
      'Timed out: a firewall drops the traffic (on the router or on this host), or there is no forward for the port.',
  },
  'open|filtered': {
    outcome: 'Unproven',
    meaning:
      'No answer over UDP: a server there may have ignored the probe (many UDP services answer only their own protocol), or a firewall drops it; UDP cannot tell these apart (nmap says open|filtered). Run the check with --listen before the server starts to prove the path.',
  },
  unreachable: {
    outcome: 'Error',
    meaning:
      'Unreachable: the network reports the address unreachable, or a firewall rejects it as administratively prohibited.',
  },
} as const satisfies Record<string, Explanation>;

/** The four causes seed 000 lists for an Error, which porthole doctor tells apart. */
export const FOUR_CAUSES: readonly string[] = [
  'The port forwarding rule does not work: a wrong port or a wrong local IP address of the server.',
  'The server service or process is not running.',
  "The server's port differs from the port being checked.",
  "The firewall on the server's computer blocks the inbound port.",
];

/** The explanation for a result. */
export function explain(state: ProbeState, verified: boolean | null): Explanation {
  if (state === 'open') {
    return verified === true
      ? EXPLANATIONS['open-verified']
      : verified === false
        ? EXPLANATIONS['open-other']
        : EXPLANATIONS['open-unverified'];
  }
  return EXPLANATIONS[state];
}
