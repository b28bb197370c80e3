/**
 * `porthole check PORTS [--checker URL] [--listen]`: the checker probes this network's public
 * address from outside; with --listen porthole answers on the ports itself, with a proof, so
 * the path is tested before the real server runs and the answer proves it reaches this machine.
 */
import type { FamilyChoice } from '../../checkerClient/index.js';
import { PortholeError } from '../../errors/index.js';
import { FOUR_CAUSES } from '../../probe/index.js';
import type { CommandSpec } from '../commandSpec.js';
import { checkFleet } from './checkFleet.js';

/** The `check` command. */
export const checkCommand: CommandSpec = {
  name: 'check',
  args: '<ports>',
  summary: "ask the checker to probe this network's public address from outside",
  options: [
    ['--checker <url>', 'check service URL (default: $PORTHOLE_CHECKER)'],
    ['--listen', 'answer on the ports ourselves, with a proof that the port reaches this machine'],
    ['--vantage <list>', 'check through a fleet front from several vantages: all, or names/regions (eu,us)'],
    [
      '--checker6 <url>',
      "the checker's IPv6 URL, when --checker names it by an IPv4 address or a name without AAAA (default: $PORTHOLE_CHECKER6)",
    ],
    [
      '--family <family>',
      "ipv4, ipv6 or both (default: every family the checker offers: a name's A and AAAA, plus --checker6)",
    ],
  ],
  run: async ({ args, options, output, env, signal }) => {
    const family = familyChoice(options.family);
    const checker6 = typeof options.checker6 === 'string' ? options.checker6 : env.PORTHOLE_CHECKER6;
    if (typeof options.vantage === 'string') {
      const { checkerUrl } = await import('../../checkerClient/index.js');
      const { formatPortSpec, parsePortSpec } = await import('../../net/index.js');
      const spec = formatPortSpec(parsePortSpec(args[0] ?? ''));
      return checkFleet(
        checkerUrl(options.checker, env),
        spec,
        options.listen === true,
        options.vantage,
        output,
        signal,
      );
    }
    const { checkReachable } = await import('../../library/index.js');
    const check = await checkReachable({
      ports: args[0] ?? '',
      env,
      signal,
      listen: options.listen === true,
      ...(typeof options.checker === 'string' ? { checker: options.checker } : {}),
      ...(checker6 ? { checker6 } : {}),
      ...(family ? { family } : {}),
    });
    const { results, errors } = check;
    const several = check.targets.length + errors.length > 1;
    const failed = results.filter((result) => result.outcome === 'Error');
    const unproven = results.filter((result) => result.outcome === 'Unproven');
    return {
      exitCode: failed.length + unproven.length + errors.length > 0 ? 1 : 0,
      json: {
        target: check.target,
        targets: check.targets,
        checker: check.checker,
        proof: check.proof,
        reach: check.reach,
        ...(errors.length > 0 ? { errors } : {}),
        results: results.map(
          ({
            port,
            protocol,
            family,
            target,
            state,
            verified,
            verifiedBy,
            reason,
            ms,
            reach,
            outcome,
            meaning,
            identity,
          }) => ({
            port,
            protocol,
            family,
            target,
            state,
            verified,
            verifiedBy: verifiedBy ?? null,
            reason,
            ms,
            reach,
            outcome,
            meaning,
            identity,
          }),
        ),
      },
      human: () =>
        [
          `Checked ${check.targets.map((t) => t.target).join(' and ')} from ${check.checker}${check.proof ? ' (porthole answered with a proof)' : ''}:`,
          ...errors.map((e) => `  IPv${e.family}: ${output.style('red', 'Error   ')}  ${e.message} (${e.checker})`),
          ...results.map((result) => {
            const verdict =
              result.outcome === 'Success'
                ? output.style('green', 'Success ')
                : result.outcome === 'Unproven'
                  ? output.style('yellow', 'Unproven')
                  : output.style('red', 'Error   ');
            const how =
              result.verifiedBy === 'connection'
                ? " (proven: the checker's connection arrived at this machine)"
                : result.outcome === 'Unproven'
                  ? ` (${result.identity})`
                  : '';
            const where = several
              ? `${result.port}/${result.protocol}/ipv${result.family}`.padEnd(16)
              : `${result.port}/${result.protocol}`.padEnd(11);
            return `  ${where} ${verdict}  ${result.state}: ${result.meaning}${how}`;
          }),
          ...(failed.length > 0
            ? [
                '',
                'If you expected Success, one of these is the cause (porthole doctor tells which):',
                ...FOUR_CAUSES.map((cause, i) => `  ${i + 1}. ${cause}`),
              ]
            : []),
        ].join('\n'),
    };
  },
};

function familyChoice(value: unknown): FamilyChoice | undefined {
  if (value === undefined) return undefined;
  if (value === 'ipv4' || value === 'ipv6' || value === 'both') return value;
  throw new PortholeError('E_USAGE', { detail: `--family must be ipv4, ipv6 or both, not "${String(value)}"` });
}
