/**
 * Commands of the contract (PRODUCT.md) that are registered with their options but not
 * built yet: they answer E_NOT_AVAILABLE (exit 2), never a fake result. When a command is
 * built it moves to its own file with a `run`.
 */
import type { CommandSpec } from '../commandSpec.js';

const checkerOption = ['--checker <url>', 'check service URL (default: $PORTHOLE_CHECKER)'] as const;

/** The planned commands, in the order of the contract. */
export const plannedCommands: readonly CommandSpec[] = [
  {
    name: 'doctor',
    args: '[source]',
    summary: 'the whole diagnosis, hop by hop, with evidence and fixes',
    options: [
      checkerOption,
      ['--stun <host>', 'STUN server to use'],
      ['--name <dnsname>', 'DNS name that should point here'],
    ],
  },
  {
    name: 'expose',
    args: '<source>',
    summary: 'make FILE or PORTS reachable from the internet and prove it',
    options: [checkerOption, ['--keep', 'keep mappings alive and re-verify until interrupted']],
  },
];
