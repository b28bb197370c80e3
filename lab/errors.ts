/**
 * The lab's own errors: they belong to the test bench, not to the product's registry (docs/errors.md
 * lists what users meet). Same shape as PortholeError: a stable code, a message, a hint.
 */

/** The lab's conditions, with how to fix each. */
const LAB_ERRORS = {
  E_LAB_UNSUPPORTED: {
    kind: 'operational',
    message: 'The network lab cannot run on this machine',
    hint: 'The lab needs Linux, root, `ip netns` and the lab packages; run `bash .ci/run` once to install them.',
  },
  E_LAB_DAEMON: {
    kind: 'operational',
    message: 'A lab daemon did not become ready',
    hint: "Read the daemon's log printed with the error; check that its package is installed.",
  },
  E_LAB_NOT_FOUND: {
    kind: 'usage',
    message: 'No such lab or lab host',
    hint: 'Run `npm run lab -- list` to see the labs that are up and their hosts.',
  },
} as const;

/** A lab error code. */
export type LabErrorCode = keyof typeof LAB_ERRORS;

/** An error of the lab (a daemon that did not start, a host the topology lacks, no netns here). */
export class LabError extends Error {
  override readonly name = 'LabError';
  readonly code: LabErrorCode;
  readonly hint: string;
  /** 2 for a usage error (a wrong lab or host name), 3 otherwise, as porthole's commands exit. */
  readonly exitCode: 2 | 3;

  constructor(code: LabErrorCode, options: { detail?: string } = {}) {
    const entry = LAB_ERRORS[code];
    super(options.detail ? `${entry.message}: ${options.detail}` : entry.message);
    this.code = code;
    this.hint = entry.hint;
    this.exitCode = entry.kind === 'usage' ? 2 : 3;
  }
}
