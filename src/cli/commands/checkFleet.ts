/**
 * `porthole check PORTS --vantage all|eu,us`: the same check through a fleet front, a table
 * per vantage and the combined verdict. Apart from check.ts so the single-checker output
 * stays exactly as it was.
 */
import { parsePortSpec, portEntries } from '../../net/index.js';
import { explain, newProofKey, startProofListeners } from '../../probe/index.js';
import type { CommandOutcome } from '../commandSpec.js';
import type { Output } from '../output.js';

/** Asks the front and formats its answer. */
export async function checkFleet(
  checker: URL,
  ports: string,
  listen: boolean,
  selector: string,
  output: Output,
  signal: AbortSignal,
): Promise<CommandOutcome> {
  // The fleet client loads only for --vantage.
  const { parseVantageSelector, requestFleetCheck } = await import('../../fleet/index.js');
  // A bad list is a usage error here, before the front is asked.
  parseVantageSelector(selector);
  const key = listen ? newProofKey() : undefined;
  const listeners = key ? await startProofListeners([...portEntries(parsePortSpec(ports))], key) : undefined;
  const response = await requestFleetCheck(checker, ports, key, selector, { signal }).finally(() => listeners?.close());
  const vantages = response.vantages.map((vantage) => ({
    name: vantage.name,
    region: vantage.region,
    state: vantage.state,
    ...(vantage.reason ? { reason: vantage.reason } : {}),
    ms: vantage.ms,
    results: vantage.results.map(({ port, protocol, state, verified, reason, ms }) => ({
      port,
      protocol,
      state,
      verified,
      reason,
      ms,
      ...explain(state, verified),
    })),
  }));
  const { combined } = response;
  const good = combined.reachable === 'all' && combined.unknown.length === 0;
  return {
    exitCode: good ? 0 : 1,
    json: {
      id: response.id,
      target: response.target,
      checker: checker.origin,
      proof: response.proof,
      vantages,
      combined,
    },
    human: () =>
      [
        `Checked ${response.target} from ${checker.origin} through ${vantages.length} vantage${vantages.length === 1 ? '' : 's'}${key ? ' (porthole answered with a proof)' : ''}:`,
        ...vantages.flatMap((vantage) => [
          `  ${output.style('bold', vantage.name)} (region ${vantage.region}): ${
            vantage.state === 'answered'
              ? `answered in ${vantage.ms} ms`
              : output.style('yellow', `${vantage.state}${vantage.reason ? ` (${vantage.reason})` : ''}`)
          }`,
          ...vantage.results.map((result) => {
            const verdict =
              result.outcome === 'Success' ? output.style('green', 'Success') : output.style('red', 'Error  ');
            return `    ${`${result.port}/${result.protocol}`.padEnd(11)} ${verdict}  ${result.state}`;
          }),
        ]),
        '',
        `Combined: ${good ? output.style('green', combined.summary) : output.style('red', combined.summary)}`,
      ].join('\n'),
  };
}
