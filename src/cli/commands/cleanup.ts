/** `porthole cleanup`: remove what killed porthole processes left (router mappings, firewall and redirect tables). */
import type { CommandSpec } from '../commandSpec.js';

/** The `cleanup` command. */
export const cleanupCommand: CommandSpec = {
  name: 'cleanup',
  summary: 'remove what a killed porthole left behind (router mappings, firewall and redirect tables)',
  run: async ({ env, signal }) => {
    const { cleanupLeftovers } = await import('../../library/index.js');
    const report = await cleanupLeftovers({ env, signal });
    return {
      exitCode: report.failed.length > 0 ? 1 : 0,
      json: report,
      human: () =>
        [
          ...report.removed.map((item) => `removed ${item.kind} ${item.what} (left by pid ${item.pid})`),
          ...report.failed.map(
            (item) =>
              `could not remove ${item.kind} ${item.what} (left by pid ${item.pid}): ${item.error?.message} — kept for the next run`,
          ),
          ...report.skipped.map((text) => `not checked: ${text}`),
          ...(report.removed.length + report.failed.length === 0 ? ['nothing left behind by a porthole process'] : []),
        ].join('\n'),
    };
  },
};
