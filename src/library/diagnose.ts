/** `diagnose`: the doctor from code, every hop with evidence and a fix, in one run session. */
import { type DoctorOptions, type DoctorReport, runDoctor } from '../doctor/index.js';
import { doctorOptionsOf, type RunInputs } from './inputs.js';
import { RunSession, type SessionOptions } from './session.js';

/** What to diagnose, and how the run goes. */
export interface DiagnoseOptions extends RunInputs, Omit<SessionOptions, 'purpose'> {}

/**
 * The doctor's report: `reachable` (only with proof), findings `{id, status, summary, evidence,
 * fix}` (status ok/warn/fail/skip), and `changes`: what the diagnosis had to change on the router
 * or host (empty when it only looked).
 */
export type Diagnosis = DoctorReport & { readonly ms: number };

/**
 * Runs the doctor in a session that already exists (expose verifies its roads this way, sharing
 * the run's gateway discovery). Progress goes to the session.
 */
export async function diagnoseIn(session: RunSession, options: DoctorOptions): Promise<Diagnosis> {
  return runDoctor({ ...options, ...session.abort }, session);
}

/**
 * Runs the whole diagnosis (listener, host firewall, router, mapping, NAT, outside-in, DNS name)
 * and resolves with findings; a failing hop is a finding with its cause and fix, not an error.
 * The router is discovered once for the whole diagnosis. Rejects only for bad input
 * (E_PORT_SPEC, E_MANIFEST_*, E_CHECKER_URL).
 */
export async function diagnose(options: DiagnoseOptions = {}): Promise<Diagnosis> {
  const session = new RunSession({ ...options, purpose: 'diagnose' });
  try {
    return await diagnoseIn(session, await doctorOptionsOf(options, session.env));
  } finally {
    // A diagnosis holds nothing it made (the proof listeners close themselves); closing says so.
    await session.close();
  }
}
