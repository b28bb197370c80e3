/** How a DNS name is updated, as flags: `porthole name set|keep` and `expose --name` take the same ones. */
import type { OptionSpec } from './commandSpec.js';

/** How a name is updated: `porthole name set|keep` and `expose --name` take the same flags. */
export const UPDATE_METHOD_OPTIONS: readonly OptionSpec[] = [
  ['--rfc2136 <server[:port]>', 'update by RFC 2136 at this primary server (an IP address)'],
  ['--tsig-key <file>', 'TSIG key file as tsig-keygen writes it (the one nsupdate -k reads)'],
  ['--zone <zone>', 'with --rfc2136: the zone (default: found from the server)'],
  ['--ttl <seconds>', 'with --rfc2136: TTL of the records', '60'],
  ['--dyndns2 <url>', 'update through a dyndns2 provider (its /nic/update URL)'],
  ['--user <user>', 'with --dyndns2: account name'],
  ['--password-file <file>', 'with --dyndns2: file holding the password'],
  ['--server <addr[:port]>', "the name's authoritative server to read the current records from"],
];
