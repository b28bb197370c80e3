/**
 * `porthole name show|set|keep NAME`: a DNS name that follows the public address, by RFC 2136
 * (TSIG) at the zone's primary server or through a dyndns2 provider. The secrets (key file,
 * password file) are read here and handed to src/dns; they are never printed.
 */
import { readFile } from 'node:fs/promises';
import type { DesiredAddresses, DnsServer, NameReport, NameUpdateMethod } from '../../dns/index.js';
import { PortholeError } from '../../errors/index.js';
import type { CommandOutcome, CommandSpec, OptionSpec } from '../commandSpec.js';
import type { Output } from '../output.js';
import { packageVersion } from '../version.js';
import { positiveInteger } from './probe.js';

type Options = Readonly<Record<string, unknown>>;

/** Flags `set` and `keep` share. */
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

const UPDATE_OPTIONS: readonly OptionSpec[] = [
  ['--ip <addr[,addr6]>', 'the address(es) to set (default: the public address, from --stun/--checker/the router)'],
  ...UPDATE_METHOD_OPTIONS,
  ['--stun <host[:port]>', 'STUN server that sees the public address'],
  ['--checker <url>', 'check service that sees the public address (default: $PORTHOLE_CHECKER)'],
  ['--data <dir>', 'where the name state is kept (default: $XDG_STATE_HOME/porthole)'],
];

/** Reads a password file's first line; E_DNS_SECRET_FILE when it cannot. */
async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PortholeError('E_DNS_SECRET_FILE', {
      detail: `${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      cause: error,
    });
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (!password) throw new PortholeError('E_DNS_SECRET_FILE', { detail: `${path}: the first line is empty` });
  return password;
}

function stringOption(options: Options, key: string): string | undefined {
  return typeof options[key] === 'string' ? (options[key] as string) : undefined;
}

/** The update method from the flags: exactly one of --rfc2136 and --dyndns2, with what each needs. */
async function updateMethod(options: Options, env: NodeJS.ProcessEnv): Promise<NameUpdateMethod> {
  const { parseDnsServer, readTsigKeyFile, normalizeName } = await import('../../dns/index.js');
  const rfc2136 = stringOption(options, 'rfc2136');
  const dyndns2 = stringOption(options, 'dyndns2');
  if ((rfc2136 === undefined) === (dyndns2 === undefined)) {
    throw new PortholeError('E_USAGE', {
      detail: 'give exactly one of --rfc2136 SERVER and --dyndns2 URL',
      hint: 'porthole name set NAME --rfc2136 SERVER --tsig-key FILE, or --dyndns2 URL --user U --password-file F.',
    });
  }
  if (rfc2136 !== undefined) {
    const keyFile = stringOption(options, 'tsigKey');
    if (!keyFile) throw new PortholeError('E_USAGE', { detail: '--rfc2136 needs --tsig-key FILE' });
    const zone = stringOption(options, 'zone');
    // Test-only: skews the signing clock so a lab test can provoke BADTIME from a real server.
    const offset = Number(env.PORTHOLE_TSIG_CLOCK_OFFSET ?? 0);
    return {
      kind: 'rfc2136',
      server: parseDnsServer(rfc2136, '--rfc2136'),
      key: await readTsigKeyFile(keyFile),
      ttl: positiveInteger(options.ttl, '--ttl', 60, 2_147_483_647),
      ...(zone ? { zone: normalizeName(zone) } : {}),
      ...(Number.isFinite(offset) && offset !== 0 ? { clockOffsetSeconds: offset } : {}),
    };
  }
  const user = stringOption(options, 'user');
  const passwordFile = stringOption(options, 'passwordFile');
  if (!user || !passwordFile)
    throw new PortholeError('E_USAGE', { detail: '--dyndns2 needs --user U and --password-file F' });
  let url: URL;
  try {
    url = new URL(dyndns2 ?? '');
  } catch (error) {
    throw new PortholeError('E_USAGE', { detail: `--dyndns2 "${dyndns2}" is not a URL`, cause: error });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PortholeError('E_USAGE', { detail: `--dyndns2 must be an http(s) URL, not ${url.protocol}` });
  }
  if (url.username || url.password) {
    throw new PortholeError('E_USAGE', {
      detail: '--dyndns2 URL must not carry credentials; use --user and --password-file',
    });
  }
  return { kind: 'dyndns2', account: { url, user, password: await readPasswordFile(passwordFile) } };
}

/** Where the addresses come from: --ip, else the nat module's consensus. */
export async function addressSource(options: Options, env: NodeJS.ProcessEnv) {
  const ip = stringOption(options, 'ip');
  if (ip !== undefined) {
    const { parseIp } = await import('../../net/address.js');
    const fixed: { A?: string; AAAA?: string } = {};
    for (const item of ip.split(',').map((s) => s.trim())) {
      const type = parseIp(item).family === 4 ? 'A' : 'AAAA';
      if (fixed[type]) throw new PortholeError('E_USAGE', { detail: `--ip names two ${type} addresses` });
      fixed[type] = item;
    }
    return async (): Promise<DesiredAddresses> => fixed;
  }
  const { optionalCheckerUrl } = await import('../../checker/client.js');
  const { stunServer } = await import('./nat.js');
  const { publicAddressesFromNat } = await import('../../dns/index.js');
  const stun = stringOption(options, 'stun') ? await stunServer(String(options.stun)) : undefined;
  const checker = optionalCheckerUrl(options.checker, env);
  return (o: { signal?: AbortSignal | undefined }) =>
    publicAddressesFromNat({ ...o, ...(stun ? { stun } : {}), ...(checker ? { checker } : {}) });
}

/** The update settings from the flags (method, state, user agent, lookup server): `name` and `expose --name` share them. */
export async function commonUpdate(options: Options, env: NodeJS.ProcessEnv) {
  const { nameStatePath, parseDnsServer } = await import('../../dns/index.js');
  const server = stringOption(options, 'server');
  return {
    method: await updateMethod(options, env),
    statePath: nameStatePath(stringOption(options, 'data'), env),
    userAgent: `porthole/${packageVersion()}`,
    ...(server ? { lookup: parseDnsServer(server) } : {}),
  };
}

/** The contract's JSON for a pass. */
function reportJson(report: NameReport) {
  return {
    name: report.name,
    method: report.method,
    zone: report.zone ?? null,
    records: report.records.map((r) => ({
      type: r.type,
      address: r.address,
      changed: r.changed,
      previous: r.previous,
      deferred: r.deferred,
      source: r.source,
    })),
    updates: report.updates,
  };
}

function reportHuman(report: NameReport): string {
  return report.records
    .map((r) => {
      const before = r.previous.length > 0 ? r.previous.join(', ') : 'nothing';
      if (r.changed) return `${report.name} ${r.type} ${r.address}: updated (was ${before})`;
      if (r.deferred) return `${report.name} ${r.type} ${r.address}: due, but updated too recently (now ${before})`;
      return `${report.name} ${r.type} ${r.address}: already right, nothing sent`;
    })
    .join('\n');
}

function roundLine(output: Output, outcome: { report?: NameReport; error?: PortholeError }): void {
  const at = new Date().toISOString();
  if (output.json) {
    output.jsonLine(outcome.report ? { at, ...reportJson(outcome.report) } : { at, error: outcome.error?.toJSON() });
  } else if (outcome.report) {
    output.notice(`${at} ${reportHuman(outcome.report).replace(/\n/g, `\n${at} `)}`);
  } else {
    output.notice(`${at} ${outcome.error?.code}: ${outcome.error?.message}`);
  }
}

/** The `name` command and its subcommands. */
export const nameCommand: CommandSpec = {
  name: 'name',
  summary: 'keep a DNS name on the public address (RFC 2136 + TSIG, or dyndns2)',
  subcommands: [
    {
      name: 'hash-password',
      summary: 'hash a password for `porthole serve --dns-users` (scrypt); the password is read from a file',
      options: [['--password-file <file>', 'file holding the password (first line)']],
      run: async ({ options }): Promise<CommandOutcome> => {
        const file = stringOption(options, 'passwordFile');
        if (!file) throw new PortholeError('E_USAGE', { detail: 'name hash-password needs --password-file F' });
        const { hashPassword } = await import('../../dns/index.js');
        const hash = await hashPassword(await readPasswordFile(file));
        return { exitCode: 0, json: { password: hash }, human: () => hash };
      },
    },
    {
      name: 'show',
      args: '<name>',
      summary: "the name's A and AAAA records at its authoritative server",
      options: [
        ['--server <addr[:port]>', 'the authoritative server to ask'],
        ['--rfc2136 <server[:port]>', 'ask this server (same as --server)'],
      ],
      run: async ({ args, options, signal }): Promise<CommandOutcome> => {
        const { normalizeName, parseDnsServer, queryAuthoritative } = await import('../../dns/index.js');
        const text = stringOption(options, 'server') ?? stringOption(options, 'rfc2136');
        if (!text) {
          throw new PortholeError('E_USAGE', {
            detail: 'name show needs --server ADDR',
            hint: "Give the name's authoritative server (`dig NS zone` names it); porthole asks it directly.",
          });
        }
        const server: DnsServer = parseDnsServer(text);
        const name = normalizeName(args[0] ?? '');
        const records: { type: 'A' | 'AAAA'; address: string; changed: false; ttl: number | null }[] = [];
        for (const type of ['A', 'AAAA'] as const) {
          const answer = await queryAuthoritative(server, name, type, { signal });
          for (const address of answer.addresses)
            records.push({ type, address, changed: false, ttl: answer.ttl ?? null });
        }
        return {
          exitCode: records.length > 0 ? 0 : 1,
          json: { name, server: `${server.address}:${server.port}`, records },
          human: () =>
            records.length > 0
              ? records.map((r) => `${name} ${r.ttl ?? ''} ${r.type} ${r.address}`).join('\n')
              : `${name}: no A or AAAA record at ${server.address}`,
        };
      },
    },
    {
      name: 'set',
      args: '<name>',
      summary: 'point the name at the public address (or --ip), updating only what differs',
      options: UPDATE_OPTIONS,
      run: async ({ args, options, env, signal }): Promise<CommandOutcome> => {
        const { updateName } = await import('../../dns/index.js');
        const common = await commonUpdate(options, env);
        const addresses = await (await addressSource(options, env))({ signal });
        const report = await updateName({ ...common, name: args[0] ?? '', addresses, signal });
        return { exitCode: 0, json: reportJson(report), human: () => reportHuman(report) };
      },
    },
    {
      name: 'keep',
      args: '<name>',
      summary: 'keep the name on the public address until interrupted',
      options: [
        ...UPDATE_OPTIONS,
        ['--interval <seconds>', 'check this often', '300'],
        ['--min-update-interval <seconds>', 'send at most one update per record type this often', '60'],
        ['--rounds <n>', 'stop after this many checks (default: until interrupted)'],
      ],
      run: async ({ args, options, env, output, signal }): Promise<CommandOutcome> => {
        const { keepName } = await import('../../dns/index.js');
        const common = await commonUpdate(options, env);
        const publicAddresses = await addressSource(options, env);
        const rounds =
          options.rounds === undefined ? undefined : Math.max(1, positiveInteger(options.rounds, '--rounds', 1));
        const result = await keepName({
          ...common,
          name: args[0] ?? '',
          publicAddresses,
          intervalMs: Math.max(1, positiveInteger(options.interval, '--interval', 300, 86_400)) * 1000,
          minUpdateIntervalMs: positiveInteger(options.minUpdateInterval, '--min-update-interval', 60, 86_400) * 1000,
          ...(rounds ? { rounds } : {}),
          signal,
          onRound: (outcome) => roundLine(output, outcome),
        });
        return {
          exitCode: 0,
          jsonLine: true,
          json: { name: args[0] ?? '', rounds: result.rounds, updates: result.updates, interrupted: signal.aborted },
          human: () =>
            `${signal.aborted ? 'Interrupted: ' : ''}${result.rounds} checks, ${result.updates} updates sent`,
        };
      },
    },
  ],
};
