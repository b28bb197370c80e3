/**
 * A run session: one per command run or library call (in the spirit of Tailscale's
 * portmapper.Client). It discovers the gateways once and shares that answer with every step that
 * needs it (the doctor's facts, the NAT diagnosis, expose's roads, cleanup); it owns what the run
 * made, recorded before the router or host is asked, and undoes it on close (what cannot be undone
 * is `leftBehind`, with why); it collects what a diagnosis had to change; and it emits progress
 * events that the command line and the local page print.
 */
import { type AbortOptions, throwIfAborted } from '../deadline/index.js';
import type { Change, Finding, StepEvent } from '../doctor/index.js';
import { PortholeError } from '../errors/index.js';
import {
  type DiscoveryOptions,
  discoverGateways,
  discoverPinholeGateway,
  type GatewayInfo,
  type Mapping,
  type PinholeDiscoveryOptions,
  type PinholeGateway,
} from '../gateway/index.js';
import { currentHost, type Host } from '../host/index.js';
import { classifyAddress } from '../net/index.js';
import type { ProgressEvent } from './progress.js';

/**
 * How long discovery waits after the first answer, by what the run wants: the doctor wants every
 * protocol the router speaks (UPnP answers ~50 ms after NAT-PMP on miniupnpd, more on a busy
 * router); listing and removing wants every protocol's answer even from a busy router (found by
 * scripts/crash-safety.ts: a late SSDP answer left a UPnP mapping "not removable"); mapping stops
 * at the first answer of the protocol it would use (`enough`). One table instead of a number at
 * every call.
 */
export const DISCOVERY_GRACE_MS = { map: 100, diagnose: 300, inventory: 1000 } as const;

/** What a run wants from discovery. */
export type DiscoveryPurpose = keyof typeof DISCOVERY_GRACE_MS;

/** Options for a session. */
export interface SessionOptions extends AbortOptions {
  /** Environment for folders and configuration (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** This machine (default: the adapter for the system this runs on; tests pass recorded ones). */
  readonly host?: Host;
  /** What discovery waits for (default `diagnose`). */
  readonly purpose?: DiscoveryPurpose;
  /** Gateway discovery overrides: a lab's gateway, test ports (the loopback fake router). */
  readonly discovery?: Omit<DiscoveryOptions, 'signal'>;
  /** IPv6 gateway discovery overrides. */
  readonly pinholeDiscovery?: Omit<PinholeDiscoveryOptions, 'signal'>;
  /** Progress: steps, findings, changes, roads, and the status of what is kept. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /**
   * Where keepers hear the router's restart and address announcements: 224.0.0.1:5350 (default),
   * 127.0.0.1:`port` (tests' loopback routers), or not at all.
   */
  readonly announcements?: false | { readonly port: number };
}

/** Something this run made and must undo, unless it is handed over (left in place by design). */
export interface Holding {
  /** What it is, for a person: `203.0.113.1:7001/tcp -> 192.168.77.10:7001 (pcp)`. */
  readonly what: string;
  /** Removes it now; on failure the holding stays and is reported by close(). */
  undo(): Promise<void>;
  /** Leaves it in place by design (a mapping without --keep): the session no longer undoes it. */
  release(): void;
}

/** What a session could not undo, and why. */
export interface LeftBehind {
  readonly what: string;
  readonly why: string;
  /** The thing itself, when it is data a user or a script acts on (a mapping's fields). */
  readonly detail?: object;
}

/** One run's shared answers, what it made, and what it changed. */
export class RunSession {
  readonly signal: AbortSignal | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly host: Host;
  readonly purpose: DiscoveryPurpose;
  /** Where keepers hear the router's announcements (SessionOptions.announcements). */
  readonly announcements: false | { readonly port: number } | undefined;
  /** What a diagnosis in this run had to change on the router or the host, and why. */
  readonly changes: Change[] = [];
  readonly #options: SessionOptions;
  readonly #held = new Set<{ what: string; undo: () => Promise<void>; detail?: object }>();
  readonly #left: LeftBehind[] = [];
  #gateways: Promise<readonly GatewayInfo[]> | undefined;
  #pinhole: Promise<PinholeGateway> | undefined;
  #pinholeQuick = false;
  #rounds = 0;
  readonly #outer = new Map<string, Promise<GatewayInfo>>();

  constructor(options: SessionOptions = {}) {
    this.#options = options;
    this.signal = options.signal;
    this.env = options.env ?? process.env;
    this.host = options.host ?? currentHost({ env: this.env });
    this.purpose = options.purpose ?? 'diagnose';
    this.announcements = options.announcements;
  }

  /** Abort options for a step of this run. */
  get abort(): AbortOptions {
    return this.signal ? { signal: this.signal } : {};
  }

  /** How many gateway discoveries this run made (one, unless the router restarted or moved). */
  get discoveryRounds(): number {
    return this.#rounds;
  }

  /**
   * This host's IPv4 gateways and what each speaks, discovered once per run. `enough` (mapping)
   * lets the first discovery stop at the first answer of the protocol the caller would use.
   */
  gateways(enough?: DiscoveryOptions['enough']): Promise<readonly GatewayInfo[]> {
    if (!this.#gateways) {
      this.#rounds++;
      const discovery = this.#options.discovery ?? {};
      const round = discoverGateways({
        graceMs: DISCOVERY_GRACE_MS[this.purpose],
        ...discovery,
        ...(enough && this.purpose === 'map' ? { enough } : {}),
        ...this.abort,
      });
      this.#gateways = round;
      // A failed discovery is not cached: the next step may ask again (unless a newer one replaced it).
      round.catch(() => {
        if (this.#gateways === round) this.#gateways = undefined;
      });
    }
    return this.#gateways;
  }

  /** The gateway of this host's default route, or E_NO_GATEWAY. */
  async gateway(enough?: DiscoveryOptions['enough']): Promise<GatewayInfo> {
    const [first] = await this.gateways(enough);
    if (!first) throw new PortholeError('E_NO_GATEWAY');
    return first;
  }

  /**
   * The router in front of this host's router (double NAT), asked at its address: unicast SSDP,
   * NAT-PMP and PCP all work to a known address through the home router's NAT. Its client is the
   * home router's WAN address, which the home router reports as its external address when that is
   * private; otherwise that address is unknown here, and only NAT-PMP (which maps whatever address
   * asked) is offered. Once per run and address.
   */
  outerGateway(address: string, inner: GatewayInfo): Promise<GatewayInfo> {
    let found = this.#outer.get(address);
    if (!found) {
      const { gateway: _own, ...discovery } = this.#options.discovery ?? {};
      found = discoverGateways({
        graceMs: DISCOVERY_GRACE_MS[this.purpose],
        ...discovery,
        gateway: address,
        multicast: false,
        ...this.abort,
      }).then(([outer]) => {
        if (!outer)
          throw new PortholeError('E_NO_GATEWAY', { detail: `the router in front (${address}) did not answer` });
        const wan = inner.externalIp && classifyAddress(inner.externalIp) === 'private' ? inner.externalIp : undefined;
        return wan
          ? { ...outer, internalAddress: wan }
          : { ...outer, protocols: outer.protocols.filter((method) => method === 'natpmp') };
      });
      this.#outer.set(address, found);
      found.catch(() => this.#outer.delete(address));
    }
    return found;
  }

  /**
   * The router that holds an IPv4 mapping: this host's, or the one in front of it (double NAT: its
   * client is the home router's private WAN address, not this host). E_GATEWAY_MOVED when neither.
   */
  async gatewayHolding(mapping: Mapping): Promise<GatewayInfo> {
    const gateway = await this.gateway();
    if (gateway.address === mapping.gateway) return gateway;
    const outer =
      classifyAddress(mapping.internalAddress) === 'private' && mapping.internalAddress !== gateway.internalAddress;
    if (!outer)
      throw new PortholeError('E_GATEWAY_MOVED', {
        detail: `the mapping is on ${mapping.gateway}; this host's gateway now is ${gateway.address}`,
      });
    return this.outerGateway(mapping.gateway, { ...gateway, externalIp: mapping.internalAddress });
  }

  /** The IPv6 gateway (pinholes), discovered once per run. */
  pinholeGateway(options: Pick<PinholeDiscoveryOptions, 'stopAtPcp'> = {}): Promise<PinholeGateway> {
    // A quick answer (stopped at PCP, IGDv2 not asked) does not do for a caller that needs IGDv2.
    if (!this.#pinhole || (this.#pinholeQuick && options.stopAtPcp !== true)) {
      this.#pinholeQuick = options.stopAtPcp === true;
      const round = discoverPinholeGateway({ ...this.#options.pinholeDiscovery, ...options, ...this.abort });
      this.#pinhole = round;
      round.catch(() => {
        if (this.#pinhole === round) this.#pinhole = undefined;
      });
    }
    return this.#pinhole;
  }

  /**
   * Forgets what discovery found: the router restarted or its address moved, and what it speaks
   * or reports may have changed. The next step that needs the gateway discovers it again.
   */
  rediscover(): void {
    this.#gateways = undefined;
    this.#pinhole = undefined;
    this.#outer.clear();
  }

  /** Says a step's progress, or a status while something is kept. */
  progress(event: ProgressEvent): void {
    this.#options.onProgress?.(event);
  }

  /** A step of the doctor's plan started or ended (the doctor's facts call this). */
  step(event: StepEvent): void {
    this.progress(event);
  }

  /** A finding decided before the diagnosis ends (the page shows it at once). */
  finding(finding: Finding): void {
    this.progress({ kind: 'finding', finding });
  }

  /** Records something a diagnosis had to change (said in the report, never silent). */
  changed(change: Change): void {
    this.changes.push(change);
    this.progress({ kind: 'change', change });
  }

  /** Holds something this run made, to undo on close unless released; `detail` goes into leftBehind. */
  hold(what: string, undo: () => Promise<void>, detail?: object): Holding {
    const entry = { what, undo, ...(detail ? { detail } : {}) };
    this.#held.add(entry);
    return {
      what,
      undo: async () => {
        await undo();
        this.#held.delete(entry);
      },
      release: () => {
        this.#held.delete(entry);
      },
    };
  }

  /** Says something this run made could not be removed (a keeper's removal failed): close() reports it. */
  leftBehind(what: string, why: string, detail?: object): void {
    this.#left.push({ what, why, ...(detail ? { detail } : {}) });
  }

  /** What this run still holds. */
  get holding(): readonly string[] {
    return [...this.#held].map((entry) => entry.what);
  }

  /**
   * Undoes everything still held, newest first (mappings before the firewall rules that let
   * their traffic in); returns what could not be undone, with why. Never throws.
   */
  async close(): Promise<LeftBehind[]> {
    const leftBehind: LeftBehind[] = this.#left.splice(0);
    for (const entry of [...this.#held].reverse()) {
      try {
        await entry.undo();
        this.#held.delete(entry);
      } catch (error) {
        leftBehind.push({
          what: entry.what,
          why: (error as Error).message,
          ...(entry.detail ? { detail: entry.detail } : {}),
        });
      }
    }
    return leftBehind;
  }

  /** Throws the abort reason when the run was interrupted. */
  throwIfAborted(): void {
    throwIfAborted(this.signal);
  }
}
