/**
 * The host firewall opened for a run (expose --firewall), through the host interface: recorded
 * with this process's pid before it is applied (a SIGKILL at any moment leaves a record `porthole
 * cleanup` acts on), held by the run session, removed when the run ends unless left by design.
 */
import { planRules, resolveManifestNames } from '../firewall/index.js';
import type { Manifest } from '../manifest/index.js';
import { forgetOwned, recordOwned } from './leftovers.js';
import type { RunSession } from './session.js';

/** The host firewall as a run holds it. */
export interface HeldFirewall {
  /** What porthole's rules are held in (an nftables table, a Windows rule group). */
  readonly container: string;
  /** Applied, and whether removed since. */
  readonly state: { readonly applied: boolean; readonly removed: boolean };
  /** Leaves the rules in place by design (expose without --keep). */
  leave(): void;
  /** Removes the rules now. */
  remove(): Promise<void>;
}

/** Opens the host firewall for the manifest's inbound ports and holds the rules in the run. */
export async function holdFirewall(session: RunSession, manifest: Manifest): Promise<HeldFirewall> {
  const { host } = session;
  const plan = planRules(manifest, await resolveManifestNames(manifest, undefined, session.abort));
  const container = host.firewall.container(manifest.name);
  const record = recordOwned({ kind: 'firewall', manifest: manifest.name, table: container }, session.env);
  try {
    await host.firewall.applyRules(plan, session.abort);
  } catch (error) {
    // One transaction: a failed apply applied nothing.
    forgetOwned(record, session.env);
    throw error;
  }
  const state = { applied: true, removed: false };
  const holding = session.hold(`host firewall rules (${container})`, async () => {
    await host.firewall.removeRules(manifest.name);
    forgetOwned(record, session.env);
    state.removed = true;
  });
  return {
    container,
    state,
    leave: () => {
      holding.release();
      forgetOwned(record, session.env);
    },
    remove: () => holding.undo(),
  };
}
