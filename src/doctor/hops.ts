/**
 * The hops of the path from a server to its users, in plain words, defined once: the local page
 * (`porthole ui`) titles each hop of its checklist with these, and the terminal's checklist may
 * too. A finding's own `summary` and `fix` (judge.ts) stay the verdict's words; a hop only says
 * what the hop is, for someone who has never heard of NAT or a port forward.
 */
import type { StepName } from './sources.js';

/** The hops, by the finding ids that belong to them (`listener:7001/tcp` → listener). */
export type HopName =
  | 'listener'
  | 'firewall'
  | 'gateway'
  | 'nat'
  | 'mapping'
  | 'outside-in'
  | 'hairpin'
  | 'dns'
  | 'egress'
  | 'multicast'
  | 'vantages';

/** One hop: a title and one sentence a non-expert understands, and the doctor's steps that check it. */
export interface Hop {
  readonly hop: HopName;
  readonly title: string;
  /** What the hop is and why it matters, in one sentence without jargon (or with it explained). */
  readonly plain: string;
  /** The doctor's steps (facts.ts) whose progress is this hop being checked. */
  readonly steps: readonly StepName[];
}

/** Every hop, in the order of the path: this computer, the router, the provider, the internet, the name. */
export const HOPS: readonly Hop[] = [
  {
    hop: 'listener',
    title: 'Something listening',
    plain: 'A program on this computer must be waiting for connections on the port.',
    steps: ['host'],
  },
  {
    hop: 'firewall',
    title: "This computer's firewall",
    plain: 'The firewall on this computer must let connections from other machines in on the port.',
    steps: ['host'],
  },
  {
    hop: 'gateway',
    title: 'Your router',
    plain:
      'The box that joins your network to the internet. porthole asks it which ways of opening a port automatically it understands (UPnP, NAT-PMP or PCP: three languages routers speak for this).',
    steps: ['gateway'],
  },
  {
    hop: 'nat',
    title: 'Shared or double address',
    plain:
      'Your public address must be your own: some internet providers share one address between many customers (carrier-grade NAT), and a second router in front of yours (double NAT) hides it too. Then opening your router alone is not enough.',
    steps: ['nat'],
  },
  {
    hop: 'mapping',
    title: 'Port forward on the router',
    plain:
      'The router must pass connections that arrive from the internet on the port to this computer (a port forward, also called a mapping).',
    steps: ['mappings'],
  },
  {
    hop: 'outside-in',
    title: 'Reachable from the internet',
    plain:
      'A check service outside your network connects to your public address the way your users will, and porthole proves the connection reached this computer.',
    steps: ['outside-in'],
  },
  {
    hop: 'hairpin',
    title: 'Your public address from inside',
    plain:
      'Whether machines on your own network can use the public address too (some routers do not allow it; users outside are not affected).',
    steps: ['hairpin'],
  },
  {
    hop: 'dns',
    title: 'The name',
    plain: 'The name you give your users (a DNS name) must lead to your public address.',
    steps: ['name'],
  },
  {
    hop: 'egress',
    title: 'Getting out',
    plain: 'The connections the application itself makes to the internet must be let out by this network.',
    steps: ['egress'],
  },
  {
    hop: 'multicast',
    title: 'Finding devices nearby',
    plain:
      'The application finds devices on your own network by announcements (multicast); this computer must let them through.',
    steps: ['multicast'],
  },
  {
    hop: 'vantages',
    title: 'Seen from several places',
    plain: 'Check services in several places tried to connect; users everywhere should get through.',
    steps: ['outside-in'],
  },
];

const BY_NAME = new Map(HOPS.map((hop) => [hop.hop, hop]));

/**
 * The hop a finding belongs to: `listener:7001/tcp` → listener, `multicast-firewall:mdns` →
 * multicast; an id the table does not know (a future finding) gets a hop of its own, titled by its id.
 */
export function hopOf(findingId: string): Hop {
  const base = findingId.split(':')[0] ?? findingId;
  const name = base.startsWith('multicast') ? 'multicast' : base;
  return (
    BY_NAME.get(name as HopName) ?? {
      hop: name as HopName,
      title: name,
      plain: '',
      steps: [],
    }
  );
}

/** What a finding is about beyond its hop: `listener:7001/tcp` → `7001/tcp`; undefined for `gateway`. */
export function findingSubject(findingId: string): string | undefined {
  const at = findingId.indexOf(':');
  return at < 0 ? undefined : findingId.slice(at + 1);
}

/** The hops a doctor's step checks (`host` checks the listener and the firewall). */
export function hopsOfStep(step: StepName): readonly Hop[] {
  return HOPS.filter((hop) => hop.steps.includes(step) && hop.hop !== 'vantages');
}
