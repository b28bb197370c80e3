/** `porthole manifest validate FILE` and `porthole manifest show FILE [--format text|markdown]`. */
import { PortholeError } from '../../errors/index.js';
import type { Manifest } from '../../manifest/index.js';
import { formatPortSpec } from '../../net/index.js';
import type { CommandSpec } from '../commandSpec.js';

/** The JSON form of a manifest: entries with their ports as canonical port specs. */
export function manifestJson(manifest: Manifest): unknown {
  return {
    name: manifest.name,
    description: manifest.description,
    file: manifest.source,
    entries: manifest.entries.map((entry) => ({
      name: entry.name,
      direction: entry.direction,
      protocol: entry.protocol,
      ports: formatPortSpec(entry.ports),
      expose: entry.expose,
      required: entry.required,
      peers: entry.peers.map((peer) => peer.text),
      group: entry.group,
      description: entry.description,
      line: entry.line,
    })),
  };
}

/** The `manifest` command and its two subcommands. */
export const manifestCommand: CommandSpec = {
  name: 'manifest',
  summary: 'check and print an application ports table',
  subcommands: [
    {
      name: 'validate',
      args: '<file>',
      summary: 'validate a manifest (exit 2 with file:line:column for each problem)',
      run: async ({ args }) => {
        const { loadManifest } = await import('../../manifest/index.js');
        const manifest = await loadManifest(args[0] ?? '');
        const counts = { inbound: 0, outbound: 0, multicast: 0 };
        for (const entry of manifest.entries) counts[entry.direction]++;
        return {
          exitCode: 0,
          json: {
            valid: true,
            file: manifest.source,
            name: manifest.name,
            entries: manifest.entries.length,
            ...counts,
          },
          human: () =>
            `${manifest.source}: valid manifest "${manifest.name}" with ${manifest.entries.length} entries ` +
            `(${counts.inbound} inbound, ${counts.outbound} outbound, ${counts.multicast} multicast)`,
        };
      },
    },
    {
      name: 'show',
      args: '<file>',
      summary: 'print a manifest as a ports table',
      options: [['--format <format>', 'text or markdown', 'text']],
      run: async ({ args, options }) => {
        const format = String(options.format);
        if (format !== 'text' && format !== 'markdown') {
          throw new PortholeError('E_USAGE', { detail: `--format must be text or markdown, not "${format}"` });
        }
        const { loadManifest, manifestTableMarkdown, manifestTableText } = await import('../../manifest/index.js');
        const manifest = await loadManifest(args[0] ?? '');
        return {
          exitCode: 0,
          json: manifestJson(manifest),
          human: () => (format === 'markdown' ? manifestTableMarkdown(manifest) : manifestTableText(manifest)),
        };
      },
    },
  ],
};
