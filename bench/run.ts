/**
 * `npm run bench`: every benchmark side by side with its peer tool, in one run, written to
 * docs/BENCHMARKS.md. Loopback and the lab only; every loop is bounded.
 */

import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { benchChecker } from './checker.js';
import { benchDiscovery } from './discovery.js';
import { benchDns } from './dns.js';
import { benchDoctor } from './doctor.js';
import { benchDoubleNat } from './doubleNat.js';
import { benchEgress } from './egress.js';
import { benchEgressVerdicts } from './egressVerdicts.js';
import { benchFleet } from './fleet.js';
import { benchGateway } from './gateway.js';
import { benchHost } from './host.js';
import { benchIpv6 } from './ipv6.js';
import { benchNat } from './nat.js';
import { benchRelay } from './relay.js';
import { benchStartup } from './startup.js';
import { benchUi } from './ui.js';

const sections = [
  await benchChecker(),
  await benchEgress(),
  await benchEgressVerdicts(),
  await benchGateway(),
  await benchDoubleNat(),
  await benchNat(),
  await benchDoctor(),
  await benchStartup(),
  await benchDns(),
  await benchFleet(),
  await benchRelay(),
  await benchDiscovery(),
  await benchIpv6(),
  await benchHost(),
  await benchUi(),
];
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const text = [
  '# Benchmarks',
  '',
  'Written by `npm run bench` (do not edit by hand): each figure below comes from that run, measured side by',
  'side with the peer tool. Performance lives here, not in timed tests.',
  '',
  `Last run: ${new Date().toISOString().slice(0, 10)} on ${machine}.`,
  '',
  ...sections,
  '',
].join('\n');
writeFileSync(new URL('../docs/BENCHMARKS.md', import.meta.url), text);
process.stdout.write(text);
