/**
 * `porthole name show|set|keep NAME`: a DNS name that follows the public address, by RFC 2136
 * (TSIG) at the zone's primary server or through a dyndns2 provider. The secrets (key file,
 * password file) are read here and handed to src/dns; they are never printed.
 */

import { positiveInteger } from '../../config/index.js';
import type { DnsServer, NameReport } from '../../dns/index.js';
import { PortholeError } from '../../errors/index.js';
import { addressSource, commonUpdate, readPasswordFile } from '../../library/index.js';
import type { CommandOutcome, CommandSpec, OptionSpec } from '../commandSpec.js';
import { UPDATE_METHOD_OPTIONS } from '../nameFlags.js';
import type { Output } from '../output.js';

type Options = Readonly<Record<string, unknown>>;

const UPDATE_OPTIONS: readonly OptionSpec[] = [
  ['--ip <addr[,addr6]>', 'the address(es) to set (default: the public address, from --stun/--checker/the router)'],
  ...UPDATE_METHOD_OPTIONS,
  ['--stun <host[:port]>', 'STUN server that sees the public address'],
  ['--checker <url>', 'check service that sees the public address (default: $PORTHOLE_CHECKER)'],
  ['--data <dir>', 'where the name state is kept (default: $XDG_STATE_HOME/porthole)'],
];

function stringOption(options: Options, key: string): string | undefined {
  return typeof options[key] === 'string' ? (options[key] as string) : undefined;
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
