/**
 * Issue 14's benchmark, on loopback: bulk TCP throughput and request/response latency through
 * the direct path (the ceiling), OpenSSH `ssh -R` + sshd (the peer), porthole's client + sshd,
 * and porthole's client + `porthole relay serve`; then 1000 concurrent connections on one
 * tunnel with the RSS of client and relay, and the time to open and verify a tunnel. Every
 * SSH pair uses aes128-gcm@openssh.com (ssh2's first choice; sshd is held to it). Bounded:
 * fixed byte counts and request counts, and a deadline on every wait.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRelay, verifyRelay } from '../src/relay/index.js';
import { median, ms, PORTHOLE_BIN, ratio } from './measure.js';

/** The built CLI as users run it (`npm run bench` builds first); the sources through tsx otherwise. */
const CLI_ARGS = existsSync(PORTHOLE_BIN)
  ? [PORTHOLE_BIN]
  : ['--import', 'tsx', fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))];
const BULK_BYTES = 64 * 2 ** 20;
const REQUESTS = 2000;
const REQUEST_BYTES = 64;
const CONCURRENT = 1000;
const CIPHER = 'aes128-gcm@openssh.com';
/** Public ports for the tunnels (below the ephemeral range). */
const PORTS = { ssh: 23101, portholeSshd: 23102, portholeRelay: 23103 } as const;

/** The local server: first byte 'S' = sink (answers the byte count at end), 'E' = echo. */
function startLocalServer(): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let mode: 'S' | 'E' | undefined;
    let count = 0;
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      let data = chunk;
      if (!mode) {
        mode = data[0] === 0x53 ? 'S' : 'E';
        data = data.subarray(1);
      }
      if (mode === 'E') socket.write(data);
      else count += data.length;
    });
    socket.on('end', () => (mode === 'S' ? socket.end(String(count)) : socket.end()));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

/** Sends BULK_BYTES and waits for the sink's count: MiB/s. */
async function throughput(port: number): Promise<number> {
  const socket = await connectTo(port);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const started = performance.now();
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('bulk transfer took over 60 s')), 60_000);
    socket.on('data', (data) => {
      text += data.toString();
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  socket.write('S');
  for (let sent = 0; sent < BULK_BYTES; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end();
  const counted = Number(await answer);
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  if (counted !== BULK_BYTES) throw new Error(`sink on port ${port} counted ${counted} of ${BULK_BYTES} bytes`);
  return BULK_BYTES / 2 ** 20 / seconds;
}

/** REQUESTS round trips of REQUEST_BYTES on one connection: p50 and p99 in ms. */
async function latency(port: number): Promise<{ p50: number; p99: number }> {
  const socket = await connectTo(port);
  socket.write('E');
  const payload = Buffer.alloc(REQUEST_BYTES, 0x62);
  const times: number[] = [];
  let pending: { need: number; resolve: () => void } | undefined;
  socket.on('data', (data) => {
    if (!pending) return;
    pending.need -= data.length;
    if (pending.need <= 0) pending.resolve();
  });
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5000);
      pending = {
        need: REQUEST_BYTES,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      socket.write(payload);
    });
    times.push(performance.now() - started);
  }
  socket.destroy();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)] ?? 0, p99: times[Math.floor(times.length * 0.99)] ?? 0 };
}

/** CONCURRENT connections open at once, each echoing one byte: the time until all answered. */
async function concurrent(port: number): Promise<{ ms: number; sockets: Socket[] }> {
  const started = performance.now();
  const sockets = await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      const socket = await connectTo(port);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no echo within 30 s')), 30_000);
        socket.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.write('Ex');
      });
      return socket;
    }),
  );
  return { ms: performance.now() - started, sockets };
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

/** Starts a child and waits (bounded: 20 s) until its output matches `ready`. */
function startChild(
  command: string,
  args: readonly string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} was not ready in 20 s:\n${output}`));
    }, 20_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${command} exited:\n${output}`));
    });
  });
}

function stop(child: ChildProcess | undefined): void {
  child?.removeAllListeners('exit');
  child?.kill('SIGTERM');
}

/** The section for docs/BENCHMARKS.md. */
export async function benchRelay(): Promise<string> {
  const title = '## Relay (issue 14)';
  if (process.getuid?.() !== 0) return `${title}\n\nNot measured: sshd needs root for its privilege separation.`;
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-relay-'));
  const children: ChildProcess[] = [];
  const local = await startLocalServer();
  const localPort = (local.address() as AddressInfo).port;
  try {
    const run = (command: string, args: string[]) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(command, args, { stdio: 'ignore' });
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
      });
    const key = join(dir, 'id_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
    writeFileSync(join(dir, 'authorized_keys'), `${publicKey}\n`, { mode: 0o600 });
    const sshdPort = await freeLoopbackPort();
    const relayPort = await freeLoopbackPort();
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `ListenAddress 127.0.0.1:${sshdPort}`,
        `HostKey ${join(dir, 'host_key')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'PermitRootLogin prohibit-password',
        'UsePAM no',
        'StrictModes no',
        'GatewayPorts clientspecified',
        `Ciphers ${CIPHER}`,
        '',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true });
    const sshd = await startChild('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], /Server listening/);
    children.push(sshd.child);
    writeFileSync(
      join(dir, 'tenants.yaml'),
      `tenants:\n  - name: bench\n    key: "${publicKey}"\n    ports: [${PORTS.portholeRelay}]\n    maxConnections: ${CONCURRENT * 2}\n`,
    );
    const relay = await startChild(
      process.execPath,
      [
        ...CLI_ARGS,
        'relay',
        'serve',
        '--listen',
        `127.0.0.1:${relayPort}`,
        '--tenants',
        join(dir, 'tenants.yaml'),
        '--data',
        join(dir, 'relay'),
        '--public-address',
        '127.0.0.1',
        '--log-level',
        'warn',
      ],
      /porthole relay listening/,
    );
    children.push(relay.child);
    const ssh = await startChild(
      'ssh',
      [
        '-N',
        '-v',
        '-c',
        CIPHER,
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'ExitOnForwardFailure=yes',
        '-i',
        key,
        '-p',
        String(sshdPort),
        '-R',
        `127.0.0.1:${PORTS.ssh}:127.0.0.1:${localPort}`,
        'root@127.0.0.1',
      ],
      /remote forward success/,
    );
    children.push(ssh.child);
    const openArgs = (url: string, port: number) => [
      ...CLI_ARGS,
      'relay',
      'open',
      String(localPort),
      '--relay',
      url,
      '--remote-port',
      String(port),
      '--identity',
      key,
      '--data',
      dir,
      '--no-verify',
      '--json',
    ];
    const toSshd = await startChild(
      process.execPath,
      openArgs(`ssh://root@127.0.0.1:${sshdPort}`, PORTS.portholeSshd),
      /"event":"open"/,
    );
    children.push(toSshd.child);
    const toRelay = await startChild(
      process.execPath,
      openArgs(`ssh://bench@127.0.0.1:${relayPort}`, PORTS.portholeRelay),
      /"event":"open"/,
    );
    children.push(toRelay.child);

    const paths = [
      { name: 'direct (ceiling)', port: localPort },
      { name: 'OpenSSH ssh -R + sshd (peer)', port: PORTS.ssh },
      { name: 'porthole client + sshd', port: PORTS.portholeSshd },
      { name: 'porthole client + porthole relay', port: PORTS.portholeRelay },
    ];
    const rows: string[] = [];
    const figures = new Map<string, { mibs: number; p50: number; p99: number }>();
    for (const path of paths) {
      const mibs = median([await throughput(path.port), await throughput(path.port), await throughput(path.port)]);
      const { p50, p99 } = await latency(path.port);
      figures.set(path.name, { mibs, p50, p99 });
    }
    const direct = figures.get(paths[0]?.name ?? '');
    const peer = figures.get(paths[1]?.name ?? '');
    for (const [name, figure] of figures) {
      rows.push(
        `| ${name} | ${figure.mibs.toFixed(0)} MiB/s | ${direct ? ratio(figure.mibs, direct.mibs) : ''} | ${peer ? ratio(figure.mibs, peer.mibs) : ''} | ${ms(figure.p50)} | ${ms(figure.p99)} |`,
      );
    }
    const many = await concurrent(PORTS.portholeRelay);
    const clientRss = rssMiB(toRelay.child.pid);
    const relayRss = rssMiB(relay.child.pid);
    for (const socket of many.sockets) socket.destroy();

    // Time to a tunnel proven from outside, as `expose --relay` will do it (in-process, known host key).
    const openTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const tunnel = await openRelay({
        url: `ssh://bench@127.0.0.1:${relayPort}`,
        localPort,
        remotePort: PORTS.portholeRelay + 0,
        identityFile: key,
        dataDir: dir,
      }).catch(() => undefined);
      if (!tunnel) break;
      await verifyRelay(tunnel.publicAddress, { localPort, tunnel });
      openTimes.push(performance.now() - started);
      await tunnel.dispose();
    }
    const ours = figures.get('porthole client + porthole relay');
    return [
      title,
      '',
      `Loopback, ${CIPHER} on every SSH pair; bulk = ${BULK_BYTES / 2 ** 20} MiB one way (median of 3), latency = ${REQUESTS} round trips of ${REQUEST_BYTES} bytes on one connection.`,
      // Each path is a pipeline of processes: on a busy machine the figures follow the scheduler.
      `Load average during the run: ${loadavg()[0]?.toFixed(1)} (the figures are only comparable at low load).`,
      '',
      '| path | throughput | vs direct | vs OpenSSH pair | p50 | p99 |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      `${CONCURRENT} concurrent tunnelled connections (porthole client + porthole relay, one tunnel): all answered in ${ms(many.ms)}; RSS client ${clientRss} MiB, relay ${relayRss} MiB (goal under 150 MB each: ${clientRss < 143 && relayRss < 143 ? 'met' : 'NOT met'}).`,
      '',
      `Open + verify a tunnel to porthole relay (in-process, host key known): median ${openTimes.length ? ms(median(openTimes)) : 'not measured (the relay kept the port)'} (target: under 2 s from "direct failed").`,
      '',
      ours && peer
        ? `Throughput of porthole's relay path vs the OpenSSH pair: ${ratio(ours.mibs, peer.mibs)} (target 1.0x); added p50 vs OpenSSH pair: ${(ours.p50 - peer.p50).toFixed(2)} ms, p99: ${(ours.p99 - peer.p99).toFixed(2)} ms (target within 1 ms).`
        : '',
    ].join('\n');
  } catch (error) {
    return `${title}\n\nNot measured: ${(error as Error).message}`;
  } finally {
    for (const child of children.reverse()) stop(child);
    local.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    }),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${await benchRelay()}\n`);
