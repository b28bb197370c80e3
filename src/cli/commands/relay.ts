/**
 * `porthole relay serve` (the relay: an SSH server for many tenants) and `porthole relay open
 * PORT --relay URL` (a reverse tunnel to it, or to any sshd, kept until Ctrl-C).
 */

import { join } from 'node:path';
import { positiveInteger } from '../../config/index.js';
import { PortholeError } from '../../errors/index.js';
import { requiredFolder } from '../../system/index.js';
import type { CommandSpec } from '../commandSpec.js';

/**
 * The relay URL as given, with the configured user (relay.user, PORTHOLE_RELAY_USER) put in when
 * the URL names none: `--relay ssh://relay.example.net` then logs in as that user.
 */
export async function relayUrlOf(url: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (!/^ssh:\/\/[^@/]+$/.test(url.replace(/\/$/, ''))) return url;
  const { resolveSetting } = await import('../../config/index.js');
  const user = resolveSetting('relay.user', undefined, env)?.value;
  return typeof user === 'string' && user !== '' ? url.replace('ssh://', `ssh://${encodeURIComponent(user)}@`) : url;
}

/** porthole's data directory (as the check service's): $XDG_DATA_HOME/porthole. */
export function dataDirOf(options: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): string {
  if (typeof options.data === 'string') return options.data;
  return requiredFolder('data', env);
}

/** `ADDR:PORT` (IPv6 in brackets), or E_USAGE naming the flag. */
function parseAddressPort(text: string, flag: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new PortholeError('E_USAGE', {
      detail: `${flag} "${text}" is not ADDR:PORT`,
      hint: `Write ${flag} 0.0.0.0:2222.`,
    });
  }
  return { host: match[1] ?? match[2] ?? '', port };
}

/** Resolves once the signal aborts. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'run the relay: an SSH server (and WebSocket on the same ports) for many tenants',
  options: [
    ['--listen <addr:port,...>', 'where SSH and WebSocket are answered (comma-separated)', '0.0.0.0:2222'],
    ['--tenants <file>', 'tenants file (YAML): keys or tokens, ports or pools, UDP, caps'],
    ['--data <dir>', 'keeps the relay host key (default: $XDG_DATA_HOME/porthole/relay)'],
    ['--public-address <addr>', 'address public ports are bound on', '0.0.0.0'],
    ['--metrics <addr:port>', 'serve Prometheus metrics at http://ADDR:PORT/metrics'],
    ['--log-level <level>', 'JSON logs on stderr: debug, info, warn, error or silent', 'info'],
  ],
  run: async ({ options, output, env, signal }) => {
    const { createLogger, createRelayServer, loadTenants } = await import('../../relay/index.js');
    if (typeof options.tenants !== 'string') {
      throw new PortholeError('E_USAGE', {
        detail: 'relay serve needs --tenants FILE',
        hint: 'See docs/relay.md for the format.',
      });
    }
    const level = String(options.logLevel ?? 'info');
    if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level)) {
      throw new PortholeError('E_USAGE', { detail: `--log-level "${level}"` });
    }
    const listen = String(options.listen)
      .split(',')
      .map((item) => parseAddressPort(item, '--listen'));
    const server = await createRelayServer({
      listen,
      tenants: await loadTenants(options.tenants),
      dataDir: typeof options.data === 'string' ? options.data : join(dataDirOf({}, env), 'relay'),
      publicHost: String(options.publicAddress ?? '0.0.0.0'),
      metrics: typeof options.metrics === 'string' ? parseAddressPort(options.metrics, '--metrics') : undefined,
      logger: createLogger(level as 'info'),
    });
    const where = server.addresses.map((a) => `${a.host}:${a.port}`).join(', ');
    output.notice(`porthole relay listening on ${where} (host key ${server.fingerprint})`);
    await untilAborted(signal);
    await server.close();
    return {
      exitCode: 0,
      json: { listen: server.addresses, fingerprint: server.fingerprint, stopped: true },
      human: () => `stopped the relay on ${where}`,
    };
  },
};

const openCommand: CommandSpec = {
  name: 'open',
  args: '<port>',
  summary: 'open a reverse tunnel: the relay gives a public port that reaches local PORT, until Ctrl-C',
  options: [
    ['--relay <url>', 'ssh://USER[:TOKEN]@HOST[:PORT] (OpenSSH sshd or porthole relay serve)'],
    ['--remote-port <n>', 'public port to ask for (default 0: the relay picks)'],
    ['--local-host <addr>', 'address of the local server', '127.0.0.1'],
    ['--proxy-protocol <v1|v2>', 'send a PROXY protocol header with the visitor address to the local server'],
    ['--identity <file>', 'private key (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa, or SSH_AUTH_SOCK)'],
    ['--proxy <url>', 'HTTP proxy for CONNECT (default: HTTPS_PROXY)'],
    [
      '--ws-ports <ports>',
      'ports where the relay answers WebSocket, tried after direct and proxy ("none" to skip)',
      '443,80',
    ],
    ['--udp', 'also forward UDP to PORT (porthole relay serve only)'],
    ['--data <dir>', "porthole's data directory (its known_hosts pins relay keys)"],
    ['--no-verify', 'do not prove the public port from outside after opening'],
  ],
  run: async ({ args, options, output, env, signal }) => {
    const { notPublicError, openRelay, verifyRelay } = await import('../../relay/index.js');
    const localPort = positiveInteger(args[0], 'PORT', 0, 65535);
    if (localPort === 0) throw new PortholeError('E_USAGE', { detail: 'PORT must be 1-65535' });
    if (typeof options.relay !== 'string') {
      throw new PortholeError('E_USAGE', { detail: 'relay open needs --relay ssh://USER@HOST[:PORT]' });
    }
    const proxyProtocol = options.proxyProtocol;
    if (proxyProtocol !== undefined && proxyProtocol !== 'v1' && proxyProtocol !== 'v2') {
      throw new PortholeError('E_USAGE', { detail: `--proxy-protocol "${String(proxyProtocol)}" (v1 or v2)` });
    }
    const webSocketPorts = String(options.wsPorts ?? '443,80')
      .split(',')
      .filter((item) => item.trim() !== '' && item.trim() !== 'none')
      .map((item) => Math.max(1, positiveInteger(item.trim(), '--ws-ports', 80, 65535)));
    const tunnel = await openRelay({
      url: await relayUrlOf(options.relay, env),
      localPort,
      localHost: String(options.localHost ?? '127.0.0.1'),
      remotePort: positiveInteger(options.remotePort, '--remote-port', 0, 65535),
      proxyProtocol,
      identityFile: typeof options.identity === 'string' ? options.identity : undefined,
      proxy: typeof options.proxy === 'string' ? options.proxy : undefined,
      webSocketPorts,
      udp: options.udp === true,
      dataDir: dataDirOf(options, env),
      env,
      signal,
    });
    try {
      const verification =
        options.verify === false ? undefined : await verifyRelay(tunnel.publicAddress, { localPort, tunnel, signal });
      const unreachable = verification && notPublicError(tunnel.publicAddress, verification);
      if (unreachable) throw unreachable;
      const opened = {
        event: 'open',
        publicAddress: tunnel.publicAddress,
        publicPort: tunnel.publicPort,
        publicUdpPort: tunnel.publicUdpPort ?? null,
        transport: tunnel.transport,
        hostKey: tunnel.hostKey,
        verified: verification?.verified ?? null,
        verifiedFrom: verification?.from ?? null,
        evidence: verification?.evidence ?? 'not verified (--no-verify)',
      };
      if (output.json) output.jsonLine(opened);
      else {
        output.notice(
          `Give users: ${tunnel.publicAddress}${tunnel.publicUdpPort ? ` (UDP ${tunnel.publicUdpPort})` : ''}`,
        );
        output.notice(
          `  via ${tunnel.transport}, host key ${tunnel.hostKey}; verified: ${String(opened.verified)} (${opened.evidence})`,
        );
        output.notice('  keeping the tunnel open until Ctrl-C');
      }
      tunnel.events.on('disconnected', ({ retryInMs }) => {
        if (output.json) output.jsonLine({ event: 'disconnected', retryInMs });
        else output.notice(`relay connection lost; retrying in ${(retryInMs / 1000).toFixed(1)} s`);
      });
      tunnel.events.on('connected', ({ reconnect, publicPort }) => {
        if (!reconnect) return;
        if (output.json) output.jsonLine({ event: 'reconnected', publicPort });
        else output.notice(`reconnected: ${tunnel.publicHost}:${publicPort} again`);
      });
      // The visitor's address reaches the server only with --proxy-protocol; it is always logged here.
      tunnel.events.on('visitor', ({ address, port }) => output.notice(`visitor ${address}:${port}`));
      tunnel.events.on('localRefused', ({ address, port, reason }) =>
        output.notice(`visitor ${address}:${port}: local port ${localPort} refused (${reason})`),
      );
      const failed = new Promise<PortholeError>((resolve) => tunnel.events.once('failed', resolve));
      const outcome = await Promise.race([untilAborted(signal).then(() => undefined), failed]);
      if (outcome) throw outcome;
      return {
        exitCode: 0,
        jsonLine: true,
        json: { event: 'closed', publicAddress: tunnel.publicAddress, stats: tunnel.stats },
        human: () => `closed the tunnel ${tunnel.publicAddress} (${tunnel.stats.visitors} visitors)`,
      };
    } finally {
      await tunnel.dispose();
    }
  },
};

/** The `relay` command and its two subcommands. */
export const relayCommand: CommandSpec = {
  name: 'relay',
  summary: 'reverse tunnels over SSH when no direct path exists: run a relay, or open a tunnel',
  subcommands: [serveCommand, openCommand],
};
