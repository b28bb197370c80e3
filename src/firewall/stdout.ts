/**
 * Which of a target's files goes to standard output, so that `porthole firewall FILE --target T |
 * TOOL` works: the file the firewall's own tool reads from stdin (`iptables-restore`,
 * `ip6tables-restore`, `nft -f -`, `sh`, `pfctl -f -`, `powershell -Command -`). Pure.
 */
import type { FirewallTarget, RenderedFile } from './types.js';

/** The file for stdout and the files that are left out of it (written with --out). */
export interface PipedOutput {
  readonly piped: RenderedFile;
  readonly others: readonly RenderedFile[];
}

/** The tool that reads each target's piped file, for messages. */
export const PIPE_READERS: Readonly<Record<FirewallTarget, string>> = {
  nftables: 'nft -f -',
  iptables: 'iptables-restore --noflush (IPv4) / ip6tables-restore --noflush (IPv6, --family 6)',
  ufw: 'sh',
  firewalld: 'sh, run beside the service files (--out DIR)',
  windows: 'powershell -Command -',
  pf: 'pfctl -a porthole -f -',
};

/**
 * The file to print for a pipe, or undefined when the target's files only work together
 * (firewalld's script loads its service XML files from the folder it runs in). iptables keeps
 * IPv4 and IPv6 in separate files for separate tools: `family` picks one (default 4).
 */
export function pipedFile(
  target: FirewallTarget,
  files: readonly RenderedFile[],
  family: 4 | 6 = 4,
): PipedOutput | undefined {
  const pick = (matches: (file: RenderedFile) => boolean): PipedOutput | undefined => {
    const piped = files.find(matches);
    return piped ? { piped, others: files.filter((file) => file !== piped) } : undefined;
  };
  switch (target) {
    case 'iptables':
      return pick((file) => file.name.endsWith(family === 6 ? '.v6' : '.v4'));
    case 'ufw':
      // The script is whole on its own; the application profile is optional (for `ufw app list`).
      return pick((file) => file.name.endsWith('.sh'));
    case 'firewalld':
      return undefined;
    default:
      return files.length === 1 ? pick(() => true) : undefined;
  }
}
