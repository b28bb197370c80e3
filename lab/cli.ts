/**
 * `npm run lab -- up home | down [ID] | list | exec HOST -- COMMAND...`: the lab by hand.
 * A lab started here stays up until `down`; its state lives in /run/porthole-lab.
 */

import { spawnSync } from 'node:child_process';
import { Command, CommanderError, Option } from 'commander';
import { Output } from '../src/cli/output.js';
import { exitCodeFor, PortholeError } from '../src/errors/index.js';
import { parsePortSpec } from '../src/net/portSpec.js';
import { LabError } from './errors.js';
import { assertLabAvailable, isStale, type LabState, listLabStates, startLab, teardown } from './lab.js';
import { type HostName, type InboundPolicy, TOPOLOGIES, type TopologyName } from './topology.js';

const json = process.argv.includes('--json');
const output = new Output({ stdout: process.stdout, stderr: process.stderr, env: process.env, json, verbose: false });

function describeLab(state: LabState): string {
  const hosts = Object.entries(state.namespaces)
    .map(([host, ns]) => `  ${host.padEnd(9)} ${ns}`)
    .join('\n');
  const a = state.addresses;
  return [
    `lab ${state.id} (${state.topology})${state.owner.byHand ? '' : ` owned by pid ${state.owner.pid}`}`,
    hosts,
    `  lan ${a.lan}, lan2 ${a.lan2} -> router ${a.routerLan} / wan ${a.routerWan} -> public ${a.publicIp}`,
    `  internet ${a.internet} (+${a.internetAlt}), STUN on both, IGD ${a.igdDescriptionUrl}`,
    // Older state files (labs started before IPv6) have no IPv6 addresses.
    ...(a.lan6
      ? [
          `  IPv6: lan ${a.lan6}, lan2 ${a.lan26} -> router ${a.routerLan6} / wan ${a.routerWan6} -> internet ${a.internet6}`,
        ]
      : []),
    `  logs in ${state.dir}`,
  ].join('\n');
}

/** The lab an `exec` or `down ID` names, or the only one that is up. */
function pickLab(id: string | undefined): LabState {
  const labs = listLabStates();
  const found = id ? labs.find((lab) => lab.id === id) : labs.length === 1 ? labs[0] : undefined;
  if (!found) {
    const known = labs.map((lab) => lab.id).join(', ') || 'none';
    const detail = id ? `no lab "${id}" (up: ${known})` : `${labs.length} labs are up (${known}); name one with --lab`;
    throw new LabError('E_LAB_NOT_FOUND', { detail });
  }
  return found;
}

const program = new Command('lab')
  .description('porthole network lab: namespaces with miniupnpd, coturn and nftables')
  .option('--json', 'print JSON')
  .exitOverride();

program
  .command('up')
  .argument('<topology>', TOPOLOGIES.join(' | '))
  .option('--no-upnp', 'router without UPnP IGD')
  .option('--no-natpmp', 'router without NAT-PMP and PCP')
  .addOption(
    new Option('--inbound <policy>', 'unsolicited inbound at the router').choices(['drop', 'reject']).default('drop'),
  )
  .option('--egress <ports>', 'venue: outbound TCP ports let out', '80,443,745')
  .option('--low-internal-ports', 'miniupnpd maps external 1024-65535 to internal ports below 1024 too')
  .option('--permission <rule...>', "miniupnpd's allow/deny rules instead of the default (docs/routers.md)")
  .option('--router-firewall', 'a second firewall on the router drops what miniupnpd forwards')
  .option('--private-wan', 'cgnat/doublenat: the router takes its private WAN address for public (STUN beside it)')
  .option('--outer-mapping', 'doublenat: the router in front runs miniupnpd too')
  .action(
    async (
      topology: string,
      options: {
        upnp: boolean;
        natpmp: boolean;
        inbound: InboundPolicy;
        egress: string;
        lowInternalPorts?: boolean;
        permission?: string[];
        routerFirewall?: boolean;
        privateWan?: boolean;
        outerMapping?: boolean;
      },
    ) => {
      if (!TOPOLOGIES.includes(topology as TopologyName)) {
        throw new PortholeError('E_USAGE', {
          detail: `unknown topology "${topology}" (expected ${TOPOLOGIES.join(', ')})`,
        });
      }
      const egressTcpPorts = parsePortSpec(options.egress).flatMap((range) =>
        range.protocol === 'tcp' ? Array.from({ length: range.end - range.start + 1 }, (_, i) => range.start + i) : [],
      );
      assertLabAvailable();
      const lab = await startLab(
        {
          topology: topology as TopologyName,
          upnp: options.upnp,
          natpmp: options.natpmp,
          inbound: options.inbound,
          egressTcpPorts,
          lowInternalPorts: options.lowInternalPorts === true,
          ...(options.permission ? { permissions: options.permission } : {}),
          routerFirewall: options.routerFirewall === true,
          privateWan: options.privateWan === true,
          outerMapping: options.outerMapping === true,
        },
        { byHand: true },
      );
      output.result(
        lab.state,
        () =>
          `${describeLab(lab.state)}\n\nrun in it: npm run lab -- exec lan -- ip addr\nremove it: npm run lab -- down ${lab.id}`,
      );
    },
  );

program
  .command('down')
  .argument('[id]', 'the lab to remove (default: every lab started by hand, and stale test labs)')
  .action((id: string | undefined) => {
    assertLabAvailable();
    const labs = id ? [pickLab(id)] : listLabStates().filter((lab) => lab.owner.byHand || isStale(lab));
    for (const lab of labs) teardown(lab);
    const ids = labs.map((lab) => lab.id);
    output.result({ removed: ids }, () => (ids.length > 0 ? `removed ${ids.join(', ')}` : 'no lab to remove'));
  });

program.command('list').action(() => {
  const labs = listLabStates();
  output.result({ labs }, () => (labs.length > 0 ? labs.map(describeLab).join('\n\n') : 'no lab is up'));
});

program
  .command('exec')
  .argument('<host>', 'lan, lan2, router, carrier or internet')
  .argument('<command...>', 'the command, after --')
  .option('--lab <id>', 'which lab, when several are up')
  .action((host: string, command: string[], options: { lab?: string }) => {
    assertLabAvailable();
    const lab = pickLab(options.lab);
    const ns = lab.namespaces[host as HostName];
    if (!ns) throw new LabError('E_LAB_NOT_FOUND', { detail: `${lab.topology} lab has no host "${host}"` });
    const [program, ...args] = command;
    const result = spawnSync('ip', ['netns', 'exec', ns, program ?? 'sh', ...args], { stdio: 'inherit' });
    process.exitCode = result.status ?? 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof LabError) {
    process.stderr.write(`error ${error.code}: ${error.message}\nhint: ${error.hint}\n`);
    process.exitCode = error.exitCode;
  } else if (!(error instanceof CommanderError)) process.exitCode = exitCodeFor(output.error(error));
  else if (!['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code))
    process.exitCode = 2;
}
