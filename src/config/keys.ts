/**
 * The table of configuration keys: which environment variable and which command-line flag set
 * each one. A key that names a secret ends in `File` and holds a path, never the secret.
 */

/** How a key's text from the command line or environment becomes its value. */
type Kind = 'url-list' | 'string' | 'path' | 'milliseconds';

/** One configurable key. */
export interface ConfigKey {
  readonly key: string;
  readonly kind: Kind;
  /** The environment variable that overrides the files. */
  readonly env: string;
  /** The command-line flag (as commands declare it) that overrides everything. */
  readonly flag?: string;
  readonly describe: string;
}

/** Every key, in the order `config show` lists them. */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  // No flag: commands read the checker through checkerUrl, which resolves it (and names its origin) itself.
  { key: 'checker', kind: 'url-list', env: 'PORTHOLE_CHECKER', describe: 'check service URL(s)' },
  {
    key: 'stun',
    kind: 'string',
    env: 'PORTHOLE_STUN',
    flag: '--stun <host[:port]>',
    describe: 'STUN server HOST[:PORT]',
  },
  {
    key: 'relay.url',
    kind: 'string',
    env: 'PORTHOLE_RELAY',
    flag: '--relay <url>',
    describe: 'relay to use when direct cannot work',
  },
  { key: 'relay.user', kind: 'string', env: 'PORTHOLE_RELAY_USER', describe: 'user name at the relay' },
  {
    key: 'relay.keyFile',
    kind: 'path',
    env: 'PORTHOLE_RELAY_KEY_FILE',
    flag: '--identity <file>',
    describe: 'file holding the SSH key for the relay',
  },
  {
    key: 'dns.name',
    kind: 'string',
    env: 'PORTHOLE_NAME',
    flag: '--name <dnsname>',
    describe: 'DNS name that should point at the public address',
  },
  {
    key: 'dns.rfc2136.server',
    kind: 'string',
    env: 'PORTHOLE_RFC2136_SERVER',
    describe: 'DNS server taking RFC 2136 updates',
  },
  {
    key: 'dns.rfc2136.tsigKeyFile',
    kind: 'path',
    env: 'PORTHOLE_TSIG_KEY_FILE',
    describe: 'file holding the TSIG key (tsig-keygen output)',
  },
  { key: 'dns.dyndns2.url', kind: 'string', env: 'PORTHOLE_DYNDNS2_URL', describe: 'dyndns2 update URL' },
  { key: 'dns.dyndns2.user', kind: 'string', env: 'PORTHOLE_DYNDNS2_USER', describe: 'dyndns2 user name' },
  {
    key: 'dns.dyndns2.passwordFile',
    kind: 'path',
    env: 'PORTHOLE_DYNDNS2_PASSWORD_FILE',
    describe: 'file holding the dyndns2 password',
  },
  {
    key: 'defaults.timeout',
    kind: 'milliseconds',
    env: 'PORTHOLE_TIMEOUT',
    flag: '--timeout <ms>',
    describe: 'per-step deadline in milliseconds',
  },
];

/** The key entry for a dotted key, or undefined. */
export function configKey(key: string): ConfigKey | undefined {
  return CONFIG_KEYS.find((entry) => entry.key === key);
}

/** A key's value from text (a flag, a variable, `config set`): a comma list of checkers, a number of ms. */
export function valueFromText(entry: ConfigKey, text: string): unknown {
  if (entry.kind === 'milliseconds') return /^\d+$/.test(text.trim()) ? Number(text.trim()) : text;
  if (entry.kind === 'url-list') {
    const items = text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    return items.length === 1 ? items[0] : items;
  }
  return text;
}
