/** A manifest as a ports table, like the vendors' tables in the seeds: text or Markdown. */
import type { Manifest, ManifestEntry } from './types.js';

const HEADERS = ['Name', 'Direction', 'Protocol', 'Ports', 'Peers / group', 'Expose', 'Description'] as const;

function cells(entry: ManifestEntry): string[] {
  const remote = entry.group ?? (entry.peers.length > 0 ? entry.peers.map((peer) => peer.text).join(', ') : 'any');
  const optional = entry.required ? '' : ' (optional)';
  return [
    entry.name,
    entry.direction,
    entry.protocol.toUpperCase().replace('+', '/'),
    entry.portText,
    remote,
    entry.expose ? 'yes' : '',
    `${entry.description ?? ''}${optional}`.trim(),
  ];
}

/** The table as aligned plain text. */
export function manifestTableText(manifest: Manifest): string {
  const rows = [HEADERS.slice(), ...manifest.entries.map(cells)];
  const widths = HEADERS.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const render = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const title = manifest.description ? `${manifest.name}: ${manifest.description}` : manifest.name;
  return [title, '', render(rows[0] ?? []), ...rows.slice(1).map(render)].join('\n');
}

/** The table as Markdown. */
export function manifestTableMarkdown(manifest: Manifest): string {
  const escapeCell = (cell: string) => cell.replaceAll('|', '\\|');
  const line = (row: readonly string[]) => `| ${row.map(escapeCell).join(' | ')} |`;
  const title = `## ${manifest.name}${manifest.description ? `\n\n${manifest.description}` : ''}`;
  return [
    title,
    '',
    line(HEADERS),
    line(HEADERS.map(() => '---')),
    ...manifest.entries.map((entry) => line(cells(entry))),
  ].join('\n');
}
