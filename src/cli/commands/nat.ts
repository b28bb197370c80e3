/** `porthole nat [--stun HOST[:PORT]] [--checker URL]`: public address, NAT behaviour, CGNAT, double NAT. */
import { optionalCheckerUrl } from '../../checkerClient/index.js';
import type { CommandSpec } from '../commandSpec.js';

/** The `nat` command. */
export const natCommand: CommandSpec = {
  name: 'nat',
  summary: 'public address, NAT behaviour (RFC 5780), carrier-grade and double NAT',
  options: [
    ['--stun <host[:port]>', 'STUN server for the behaviour tests (RFC 5780 needs one with two addresses)'],
    ['--checker <url>', 'check service whose /v1/ip also reports the public address (default: $PORTHOLE_CHECKER)'],
  ],
  run: async ({ options, env, output, signal }) => {
    const { diagnoseNat, stunServer } = await import('../../nat/index.js');
    const stun = typeof options.stun === 'string' ? await stunServer(options.stun) : undefined;
    const checker = optionalCheckerUrl(options.checker, env);
    const diagnosis = await diagnoseNat({ signal, ...(stun ? { stun } : {}), ...(checker ? { checker } : {}) });
    for (const warning of diagnosis.stun?.warnings ?? []) output.debug(`warning: ${warning}`);
    const { stun: _stun, ...json } = diagnosis;
    return {
      exitCode: diagnosis.cgnat || diagnosis.doubleNat ? 1 : 0,
      json: { ...json, stunMs: diagnosis.stun?.ms ?? null },
      human: () =>
        [
          diagnosis.summary,
          '',
          `public address: ${diagnosis.publicIp ?? 'unknown'}${diagnosis.sightings.length > 1 ? (diagnosis.agreed ? ' (all sources agree)' : ' (sources disagree)') : ''}`,
          ...diagnosis.sightings.map((s) => `  ${s.source.padEnd(8)} ${s.address.padEnd(16)} ${s.detail}`),
          `mapping: ${diagnosis.mapping ?? 'not tested'}, filtering: ${diagnosis.filtering ?? 'not tested'}, port preserved: ${diagnosis.portPreserved ?? 'n/a'}, hairpinning: ${diagnosis.hairpinning ?? 'n/a'}`,
          `carrier-grade NAT: ${diagnosis.cgnat ? 'yes' : 'no'}, double NAT: ${diagnosis.doubleNat ? 'yes' : 'no'}, IPv6 global address: ${diagnosis.ipv6.globalAddress ?? 'none'}`,
          ...(diagnosis.path ? [`path: ${diagnosis.path.map((hop) => hop.address).join(' -> ')}`] : []),
          '',
          'evidence:',
          ...diagnosis.evidence.map((line) => `  - ${line}`),
          ...diagnosis.skipped.map((line) => `  skipped: ${line}`),
        ].join('\n'),
    };
  },
};
