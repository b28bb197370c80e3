/**
 * `porthole check PORTS [--checker URL] [--listen]`: the checker probes this network's public
 * address from outside; with --listen porthole answers on the ports itself, with a proof, so
 * the path is tested before the real server runs and the answer proves it reaches this machine.
 */
import { checkerUrl, requestCheck } from '../../checker/client.js';
import { explain, FOUR_CAUSES } from '../../checker/explain.js';
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
  ],
  run: async ({ args, options, output, env, signal }) => {
    const checker = checkerUrl(options.checker, env);
    const ranges = parsePortSpec(args[0] ?? '');
    const key = options.listen ? newProofKey() : undefined;
    const listeners = key ? await startProofListeners([...portEntries(ranges)], key) : undefined;
    if (listeners)
      output.debug(`listening with proof on ${listeners.bound.map((b) => `${b.port}/${b.protocol}`).join(', ')}`);
    let response: Awaited<ReturnType<typeof requestCheck>>;
    try {
      if (typeof options.vantage === 'string') {
        return await checkFleet(checker, formatPortSpec(ranges), key, options.vantage, output, signal);
      }
      response = await requestCheck(checker, formatPortSpec(ranges), key, { signal });
    } finally {
      await listeners?.close();
    }
    // A real server's answer carries no proof: the checker's connection seen here is the proof.
    const proven = await provePeers(response.results);
    const results = proven.results.map((result, index) => ({
      ...result,
      ...explain(result.state, result.verified),
      identity: proven.identities[index]?.evidence ?? '',
    }));
    const failed = results.filter((result) => result.outcome === 'Error');
    const unproven = results.filter((result) => result.outcome === 'Unproven');
    return {
      exitCode: failed.length + unproven.length > 0 ? 1 : 0,
      json: {
        target: response.target,
        checker: checker.origin,
        proof: response.proof,
        results: results.map(
          ({ port, protocol, state, verified, verifiedBy, reason, ms, outcome, meaning, identity }) => ({
            port,
            protocol,
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
          `Checked ${response.target} from ${checker.origin}${key ? ' (porthole answered with a proof)' : ''}:`,
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
            return `  ${`${result.port}/${result.protocol}`.padEnd(11)} ${verdict}  ${result.state}: ${result.meaning}${how}`;
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
