/** The probe engine's contracts: what a probe finds, and why. */
import type { Transport } from '../net/index.js';

/**
 * A port's state, classified like nmap -sT: `open` (handshake completed, or a UDP answer),
 * `closed` (refused: RST, or ICMP port unreachable), `filtered` (no answer before the
 * deadline), `unreachable` (ICMP host or network unreachable; Linux reports an ICMP
 * administratively-prohibited the same way, so a rejecting firewall can land here too).
 * `open|filtered` is nmap -sU's word for a silent UDP port where no porthole listener was
 * asked to answer: a server that ignored the probe and a firewall that dropped it look the same.
 */
export type ProbeState = 'open' | 'closed' | 'filtered' | 'unreachable' | 'open|filtered';

/** The result of probing one port. */
export interface ProbeResult {
  readonly port: number;
  readonly protocol: Transport;
  readonly state: ProbeState;
  /** Why: `syn-ack`, `conn-refused`, `no-response`, `host-unreach`, `udp-response`, ... */
  readonly reason: string;
  /** Wall time of the probe in milliseconds. */
  readonly ms: number;
  /**
   * Proof of identity: true when the answer carried a valid proof for our key, false when a
   * proof was asked for and the answer lacked it, null when no proof was possible or asked.
   */
  readonly verified: boolean | null;
  /**
   * The prober's end of an open TCP connection (address and port as the prober bound them). The
   * prober holds the connection open until its answer is out, so the host behind the port can
   * find this exact peer among its own sockets: proof that the port reaches that host.
   */
  readonly source?: { readonly address: string; readonly port: number };
  /** How `verified` was decided: porthole's listener signed the nonce, or this host saw the prober's connection. */
  readonly verifiedBy?: 'proof' | 'connection';
}
