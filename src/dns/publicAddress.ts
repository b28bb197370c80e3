/**
 * The public address a name should hold, from the nat module's consensus (router, STUN,
 * checker). Sources that disagree give no address: a name is better left alone than pointed at
 * a guess. Never a built-in public service: only what the user named.
 */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import type { DesiredAddresses } from './update.js';

/** What to ask for the public address (the same as `porthole nat`). */
export interface PublicAddressSources extends AbortOptions {
  readonly stun?: { readonly address: string; readonly port: number };
  readonly checker?: URL;
}

/** The agreed public IPv4 address (A) and this host's global IPv6 address (AAAA), when known. */
export async function publicAddressesFromNat(sources: PublicAddressSources): Promise<DesiredAddresses> {
  const { diagnoseNat } = await import('../nat/index.js');
  const diagnosis = await diagnoseNat(sources);
  if (!diagnosis.publicIp) {
    throw new PortholeError('E_DNS_NO_ADDRESS', { detail: diagnosis.skipped.join('; ') || 'no source saw it' });
  }
  if (!diagnosis.agreed) {
    const seen = diagnosis.sightings.map((s) => `${s.source} ${s.address}`).join(', ');
    throw new PortholeError('E_DNS_NO_ADDRESS', { detail: `the sources disagree (${seen})` });
  }
  // Behind a carrier NAT the shared address reaches someone else's port range, not this host.
  if (diagnosis.cgnat) {
    throw new PortholeError('E_DNS_NO_ADDRESS', {
      detail: `behind a carrier-grade NAT: ${diagnosis.publicIp} is shared, a name on it would not reach this host`,
      hint: 'Use a relay (porthole expose --relay URL), or ask your ISP for a public address.',
    });
  }
  return { A: diagnosis.publicIp, AAAA: diagnosis.ipv6.globalAddress };
}
