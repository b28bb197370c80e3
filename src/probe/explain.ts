/**
 * What a verdict means, in the words of seed 000's "Success" / "Error" — one table used by
 * the command line and the web page, so both say the same thing.
 */
import type { ProbeState } from './types.js';
import { type Reach, reachOf } from './verdict.js';

/** A verdict for a person: Success or Error, and what it means. */
export interface Explanation {
  /** `Unproven`: open, but nothing shows it is this machine that answers (never rounded up to Success). */
  readonly outcome: 'Success' | 'Error' | 'Unproven';
  readonly meaning: string;
}

/**
 * Explanations by state (and, for open, by proof), for people who are not network engineers:
 * no protocol words, and "your server" / "the computer that asked" rather than "this host",
 * which on a web page could mean the browser's machine or the checker's.
 */
export const EXPLANATIONS = {
  'open-verified': {
    outcome: 'Success',
    meaning:
      'Your server can be reached from the internet: the answer came from the computer that asked for this check.',
  },
  'open-unverified': {
    outcome: 'Unproven',
    meaning:
      'Open, but not proven to reach this computer: something at your address answers on this port from the internet, and which device answered cannot be told from here (a forward may point at another device). To be sure it is your server, run `porthole check` on the server itself, or stop the server and check again: the port should then show Error.',
  },
  'open-other': {
    outcome: 'Error',
    meaning:
      'Something answers, but not the computer that asked for the check: the router sends this port to another device or to another port, or another program answers there.',
  },
  closed: {
    outcome: 'Error',
    meaning:
      'Refused: a device answered but nothing listens on the port there. Most often the router itself refused because it has no forwarding rule for the port, or the server program is not running.',
  },
  filtered: {
    outcome: 'Error',
    meaning:
      "Timed out: a firewall drops the traffic (on the router, or on the server's own computer), or the router has no forwarding rule for the port.",
  },
  'open|filtered': {
    outcome: 'Unproven',
    meaning:
      'No answer over UDP: a server there may have ignored the probe (many UDP services answer only their own protocol), or a firewall drops it; UDP cannot tell these apart (nmap says open|filtered). Run the check with --listen before the server starts to prove the path.',
  },
  unreachable: {
    outcome: 'Error',
    meaning:
      'Unreachable: the internet reported your address as unreachable, or a firewall turned the connection away.',
  },
} as const satisfies Record<string, Explanation>;

/**
 * What the checker saw, in plain words, by the probe's machine-readable reason (src/probe:
 * `syn-ack`, `conn-refused`, ...). A reason missing here is shown as it is.
 */
export const REASON_WORDS: Readonly<Record<string, string>> = {
  'syn-ack': 'a program accepted the connection',
  'conn-refused': 'the connection was refused',
  reset: 'the connection was cut off as soon as it started',
  'host-unreach': 'the network said your address cannot be reached',
  'net-unreach': 'the network said your address cannot be reached',
  'host-down': 'the network said your address cannot be reached',
  'no-response': 'nothing came back',
  'port-unreach': 'the device said nothing listens on this port',
  'udp-proof': "porthole's own answer came back, with its proof",
  'udp-proof, not for our key': 'an answer came back, but its proof is for another computer',
  'udp-response': 'a program answered',
};

/** The plain words for a probe's reason. */
export function reasonWords(reason: string): string {
  return REASON_WORDS[reason] ?? reason;
}

/** The four causes seed 000 lists for an Error, which porthole doctor tells apart. */
export const FOUR_CAUSES: readonly string[] = [
  'The port forwarding rule does not work: a wrong port or a wrong local IP address of the server.',
  'The server service or process is not running.',
  "The server's port differs from the port being checked.",
  "The firewall on the server's computer blocks the inbound port.",
];

/** Which explanation each reach gets (src/probe/verdict.ts: the one rule for "reachable"). */
const EXPLANATION_OF: Readonly<Record<Reach, keyof typeof EXPLANATIONS>> = {
  proven: 'open-verified',
  'open-unproven': 'open-unverified',
  'not-this-host': 'open-other',
  'no-answer': 'open|filtered',
  closed: 'closed',
  filtered: 'filtered',
  unreachable: 'unreachable',
};

/** The explanation for a result. */
export function explain(state: ProbeState, verified: boolean | null): Explanation {
  return EXPLANATIONS[EXPLANATION_OF[reachOf({ state, verified })]];
}
