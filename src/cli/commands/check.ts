/**
 * `porthole check PORTS [--checker URL] [--listen]`: the checker probes this network's public
 * address from outside; with --listen porthole answers on the ports itself, with a proof, so
 * the path is tested before the real server runs and the answer proves it reaches this machine.
 */
import {
  type CheckResponse,
  checkerEndpoints,
  checkerUrl,
  type FamilyChoice,
  requestCheck,
} from '../../checker/client.js';
import { explain, FOUR_CAUSES } from '../../checker/explain.js';
import { PortholeError } from '../../errors/index.js';
import { formatPortSpec, parsePortSpec, portEntries } from '../../net/portSpec.js';
import { newProofKey, provePeers, startProofListeners } from '../../probe/index.js';
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
    const checker = checkerUrl(options.checker, env);
    const checker6Text = typeof options.checker6 === 'string' ? options.checker6 : env.PORTHOLE_CHECKER6;
    const checker6 = checker6Text ? checkerUrl(checker6Text, {}) : undefined;
    const endpoints = await checkerEndpoints(checker, { checker6, family: familyChoice(options.family), signal });
    const ranges = parsePortSpec(args[0] ?? '');
    const key = options.listen ? newProofKey() : undefined;
    const listeners = key ? await startProofListeners([...portEntries(ranges)], key) : undefined;
    if (listeners)
      output.debug(`listening with proof on ${listeners.bound.map((b) => `${b.port}/${b.protocol}`).join(', ')}`);
    // One check per family, at once: the same ports, the same listeners (bound dual-stack).
    let answers: ({ family: 4 | 6; origin: string } & ({ response: CheckResponse } | { error: PortholeError }))[];
    try {
      if (typeof options.vantage === 'string') {
        return await checkFleet(checker, formatPortSpec(ranges), key, options.vantage, output, signal);
      }
      answers = await Promise.all(
        endpoints.map(async ({ family, url }) => {
          try {
            return {
              family,
              origin: url.origin,
              response: await requestCheck(url, formatPortSpec(ranges), key, { signal, family }),
            };
          } catch (error) {
            // One family failing (no IPv6 route here) is a result for that family; the other stands.
            if (signal.aborted || endpoints.length === 1 || !(error instanceof PortholeError)) throw error;
            return { family, origin: url.origin, error };
          }
        }),
      );
    } finally {
      await listeners?.close();
    }
    const host = (await import('../../host/index.js')).currentHost();
    const responses = answers.flatMap((a) => ('response' in a ? [{ family: a.family, response: a.response }] : []));
    const errors = answers.flatMap((a) =>
      'error' in a ? [{ family: a.family, checker: a.origin, code: a.error.code, message: a.error.message }] : [],
    );
    const [first] = responses;
    if (!first) throw (answers[0] as { error: PortholeError }).error;
    const response = first.response;
    // A real server's answer carries no proof: the checker's connection seen here is the proof.
    const results = (
      await Promise.all(
        responses.map(async ({ family, response: answer }) => {
          const proven = await provePeers(answer.results, (ports) => host.connections(ports));
          return proven.results.map((result, index) => ({
            ...result,
            family,
            target: answer.target,
            ...explain(result.state, result.verified),
            identity: proven.identities[index]?.evidence ?? '',
          }));
        }),
      )
    ).flat();
    const several = endpoints.length > 1;
    const failed = results.filter((result) => result.outcome === 'Error');
    const unproven = results.filter((result) => result.outcome === 'Unproven');
    return {
      exitCode: failed.length + unproven.length + errors.length > 0 ? 1 : 0,
      json: {
        target: response.target,
        targets: responses.map(({ family, response: answer }) => ({ family, target: answer.target })),
        checker: checker.origin,
        proof: response.proof,
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
            outcome,
            meaning,
            identity,
          }),
        ),
      },
      human: () =>
        [
          `Checked ${responses.map((r) => r.response.target).join(' and ')} from ${checker.origin}${key ? ' (porthole answered with a proof)' : ''}:`,
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
