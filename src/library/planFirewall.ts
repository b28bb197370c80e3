/** `planFirewall`: the host firewall rules an application's ports need, for six firewalls. */
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import {
  backends,
  FIREWALL_TARGETS,
  type FirewallTarget,
  type NameResolver,
  planRules,
  type RenderedFile,
  type RulePlan,
  resolveManifestNames,
} from '../firewall/index.js';
import { loadManifestOrPorts, type Manifest } from '../manifest/index.js';

/** What to plan for. */
export interface PlanFirewallOptions extends AbortOptions {
  /** Ports (`7001,7002/udp`), a manifest file's path, or a loaded manifest. */
  readonly ports: string | Manifest;
  /** nftables (default), iptables, ufw, firewalld, windows or pf. */
  readonly target?: FirewallTarget;
  /** How DNS names among a manifest's peers are resolved (default: the system resolver). */
  readonly resolver?: NameResolver;
}

/** The plan (rules as data) and the target firewall's files (rules as text). */
export interface FirewallPlan {
  readonly plan: RulePlan;
  readonly target: FirewallTarget;
  readonly files: readonly RenderedFile[];
}

/**
 * Plans the allow rules for an application's ports (peers' DNS names resolved once, never
 * widened to any address) and renders them for one firewall. Pure apart from name resolution;
 * nothing is applied.
 */
export async function planFirewall(options: PlanFirewallOptions): Promise<FirewallPlan> {
  const target = options.target ?? 'nftables';
  if (!FIREWALL_TARGETS.includes(target))
    throw new PortholeError('E_USAGE', {
      detail: `target must be one of ${FIREWALL_TARGETS.join(', ')}, not "${target}"`,
    });
  const manifest = typeof options.ports === 'string' ? await loadManifestOrPorts(options.ports) : options.ports;
  const resolutions = await resolveManifestNames(manifest, options.resolver, { signal: options.signal });
  const plan = planRules(manifest, resolutions);
  return { plan, target, files: backends[target].render(plan) };
}
