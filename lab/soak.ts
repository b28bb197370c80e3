/**
 * Lab additions for the soak (scripts/soak.ts), built on a running Lab's public API: one more host
 * on the lab's internet (a load generator with many addresses, as many callers behind one proxy),
 * and a change of the router's WAN address, as an ISP hands a home a new one.
 */

import { join } from 'node:path';
import { LabError } from './errors.js';
import { runChecked, runSyncQuiet, startDaemon, veth } from './exec.js';
import type { Lab } from './lab.js';
import { IFACE } from './routerConfig.js';
import { PLAN } from './topology.js';

/** A host of our own on the lab's internet bridge. */
export interface InternetHost {
  readonly namespace: string;
  /** Its addresses; the first is the source of its connections. */
  readonly addresses: readonly string[];
  /** Starts a background program in it (log in the lab's folder); it is killed on stop. */
  startBackground(name: string, command: string, args: readonly string[]): number;
  /** Kills everything in it and deletes it. Idempotent, synchronous (also runs on exit and interrupt). */
  stop(): void;
}

/**
 * Adds a namespace `${lab.id}-NAME` plugged into the internet bridge with `addresses` (all in the
 * internet's /24). It goes on stop(), on process exit and on SIGINT/SIGTERM/SIGHUP, since the lab's
 * own teardown knows only the namespaces it made.
 */
export async function startInternetHost(lab: Lab, name: string, addresses: readonly string[]): Promise<InternetHost> {
  const namespace = `${lab.id}-${name}`;
  const internet = lab.namespace('internet');
  let stopped = false;
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    process.kill(process.pid, signal);
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const pid of runSyncQuiet('ip', ['netns', 'pids', namespace]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    runSyncQuiet('ip', ['netns', 'del', namespace]);
    process.off('exit', stop);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  process.on('exit', stop);
  // Registered after the lab's own hooks, so this runs in the same emit. While a listener is left,
  // Node swallows the lab's re-raised signal; this one, the last, raises it again to end the process.
  for (const signal of SIGNALS) process.once(signal, onSignal);
  try {
    await runChecked('ip', ['netns', 'add', namespace]);
    await runChecked('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
    const port = `${name.slice(0, 8)}0`;
    await veth(internet, port, namespace, IFACE.host);
    await runChecked('ip', ['-n', internet, 'link', 'set', port, 'master', IFACE.internetBridge, 'up']);
    for (const address of addresses) {
      await runChecked('ip', ['-n', namespace, 'addr', 'add', `${address}/${PLAN.internetPrefix}`, 'dev', IFACE.host]);
    }
    await runChecked('ip', ['-n', namespace, 'link', 'set', IFACE.host, 'up']);
  } catch (error) {
    stop();
    throw error;
  }
  return {
    namespace,
    addresses,
    startBackground: (logName, command, args) => {
      const child = startDaemon(
        'ip',
        ['netns', 'exec', namespace, command, ...args],
        join(lab.state.dir, `${logName}.log`),
      );
      if (child.pid === undefined) throw new LabError('E_LAB_DAEMON', { detail: `${command} did not start` });
      return child.pid;
    },
    stop,
  };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * home/venue: the router's WAN address becomes `to` (in the internet's /24), as after an ISP's
 * renumbering: the old address goes first (the kernel would drop a secondary with its primary),
 * then the new one and the default route that went with the old one. miniupnpd is not told: it
 * learns the address as a router's daemon would (netlink, or its STUN test at its next start).
 */
export async function changeWanAddress(lab: Lab, from: string, to: string): Promise<void> {
  const router = lab.namespace('router');
  await runChecked('ip', ['-n', router, 'addr', 'del', `${from}/${PLAN.internetPrefix}`, 'dev', IFACE.wan]);
  await runChecked('ip', ['-n', router, 'addr', 'add', `${to}/${PLAN.internetPrefix}`, 'dev', IFACE.wan]);
  await runChecked('ip', ['-n', router, 'route', 'replace', 'default', 'via', PLAN.internetHost]);
}
