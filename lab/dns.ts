/**
 * Authoritative DNS servers for the name tests, in the lab's internet namespace: BIND 9 on
 * 203.0.113.254:53 and Knot on 203.0.113.253:53, both primary for dyn.example.net and accepting
 * RFC 2136 updates signed with a key `tsig-keygen` made. Each keeps its config, zone and log in
 * the lab's folder; the lab's teardown kills them with the namespace.
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../src/deadline/index.js';
import { LabError } from './errors.js';
import { runChecked } from './exec.js';
import type { Lab } from './lab.js';
import { PLAN } from './topology.js';

/** The zone both servers are primary for. */
export const DNS_ZONE = 'dyn.example.net';
/** The key name the servers accept updates with. */
export const UPDATE_KEY_NAME = 'porthole-update';

/** A running authoritative server. */
export interface LabDnsServer {
  readonly software: 'bind' | 'knot';
  readonly address: string;
  readonly port: number;
  /** The key file as tsig-keygen wrote it (what nsupdate -k and porthole --tsig-key read). */
  readonly keyFile: string;
  /** The daemon's log name (lab.log(name)). */
  readonly logName: string;
  /** How many updates the server has received so far, counted from its log. */
  updatesReceived(): number;
}

function zoneFile(serverName: string): string {
  return [
    '$TTL 60',
    `@ IN SOA ${serverName}. hostmaster.${DNS_ZONE}. ( 1 3600 600 86400 60 )`,
    `@ IN NS ${serverName}.`,
    `${serverName}. IN A ${PLAN.internetHost}`,
    `old IN A 198.51.100.9`,
    '',
  ].join('\n');
}

async function keygen(dir: string, algorithm: string, name: string): Promise<string> {
  const file = join(dir, `${name}.key`);
  writeFileSync(file, await runChecked('tsig-keygen', ['-a', algorithm, name]), { mode: 0o600 });
  return file;
}

/** The secret of a key file, for a server config (the lab's own throwaway key). */
function secretOf(keyFile: string): string {
  const secret = /secret\s+"([^"]+)"/.exec(readFileSync(keyFile, 'utf8'))?.[1];
  if (!secret) throw new Error(`no secret in ${keyFile}`);
  return secret;
}

async function waitForAnswer(lab: Lab, name: string, address: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const dig = await lab.exec(
      'internet',
      'dig',
      [`@${address}`, '-p', String(port), '+short', '+time=1', '+tries=1', DNS_ZONE, 'SOA'],
      { timeoutMs: 3000 },
    );
    if (dig.code === 0 && dig.stdout.trim().length > 0) return;
    await sleep(100);
  }
  throw new LabError('E_LAB_DAEMON', {
    detail: `${name} did not answer; its log:\n${lab.log(name).slice(-3000)}`,
  });
}

/** Starts BIND 9 (`named -g`) as primary for dyn.example.net with `update-policy`, and waits for it. */
export async function startBind(lab: Lab, algorithm = 'hmac-sha256'): Promise<LabDnsServer> {
  const dir = join(lab.state.dir, 'bind');
  mkdirSync(dir, { recursive: true });
  const keyFile = await keygen(dir, algorithm, UPDATE_KEY_NAME);
  writeFileSync(join(dir, `${DNS_ZONE}.zone`), zoneFile(`ns1.${DNS_ZONE}`));
  const conf = join(dir, 'named.conf');
  writeFileSync(
    conf,
    `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  listen-on port 53 { ${PLAN.internetHost}; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  allow-query { any; };
  notify no;
};
controls { };
include "${keyFile}";
zone "${DNS_ZONE}" {
  type primary;
  file "${dir}/${DNS_ZONE}.zone";
  update-policy { grant ${UPDATE_KEY_NAME} zonesub ANY; };
};
`,
  );
  lab.startBackground('internet', 'named', 'named', ['-g', '-c', conf, '-u', 'root', '-n', '2']);
  await waitForAnswer(lab, 'named', PLAN.internetHost, 53);
  return {
    software: 'bind',
    address: PLAN.internetHost,
    port: 53,
    keyFile,
    logName: 'named',
    // BIND logs each change an UPDATE makes as "client @ID ADDR#PORT/key K: updating zone"; one
    // message comes from one client object and source port, so distinct prefixes count messages.
    updatesReceived: () =>
      new Set(lab.log('named').match(/client @\S+ \S+#\d+(?=\/key [^:]+: updating zone)/g) ?? []).size,
  };
}

/** Starts Knot DNS (`knotd`) as primary for dyn.example.net with an update ACL, and waits for it. */
export async function startKnot(lab: Lab, algorithm = 'hmac-sha256'): Promise<LabDnsServer> {
  const dir = join(lab.state.dir, 'knot');
  // Knot does not create its journal's folder: without it every update fails "not exists".
  mkdirSync(join(dir, 'db'), { recursive: true });
  const keyFile = await keygen(dir, algorithm, UPDATE_KEY_NAME);
  writeFileSync(join(dir, `${DNS_ZONE}.zone`), zoneFile(`ns2.${DNS_ZONE}`));
  const conf = join(dir, 'knot.conf');
  writeFileSync(
    conf,
    `server:
  rundir: "${dir}"
  listen: ${PLAN.internetAlt}@53
log:
  - target: stderr
    any: info
database:
  storage: "${dir}/db"
control:
  listen: "${dir}/knot.sock"
key:
  - id: ${UPDATE_KEY_NAME}
    algorithm: ${algorithm}
    secret: ${secretOf(keyFile)}
acl:
  - id: update
    key: ${UPDATE_KEY_NAME}
    action: update
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: ${DNS_ZONE}
    file: "${DNS_ZONE}.zone"
    acl: update
`,
  );
  lab.startBackground('internet', 'knotd', 'knotd', ['-c', conf]);
  await waitForAnswer(lab, 'knotd', PLAN.internetAlt, 53);
  return {
    software: 'knot',
    address: PLAN.internetAlt,
    port: 53,
    keyFile,
    logName: 'knotd',
    // Knot logs "DDNS, processing N updates" once per UPDATE message it accepted.
    updatesReceived: () => lab.log('knotd').match(/DDNS, processing \d+ updates?/g)?.length ?? 0,
  };
}
