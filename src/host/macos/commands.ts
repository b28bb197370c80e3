/**
 * The commands the macOS adapter runs, and the lines it gives people to run. Pure.
 */
import { backends, type RulePlan } from '../../firewall/index.js';
import type { FirewallCommands } from '../types.js';

/** The Application Firewall's command-line tool (the same path on every macOS since 10.5). */
export const SOCKETFILTERFW = '/usr/libexec/ApplicationFirewall/socketfilterfw';

/**
 * The arguments of the one socketfilterfw run: every setting the judge needs and the program list.
 * --getallowsigned is added to the brief's four: an unlisted program is let in when it is signed
 * and signed software is allowed, so the answer for an unlisted program depends on it.
 */
export const SOCKETFILTERFW_ARGS = [
  '--getglobalstate',
  '--getblockall',
  '--getstealthmode',
  '--getallowsigned',
  '--listapps',
];

/**
 * Listening TCP and bound UDP sockets in lsof's field output. `-iTCP -sTCP:LISTEN -iUDP` selects
 * TCP in LISTEN or any UDP (lsof ORs -i options; -s applies to TCP); fields p c n as the brief
 * asks, plus P (TCP or UDP) and t (IPv4 or IPv6, to tell the two wildcards `*` apart).
 */
export const LSOF_LISTEN_ARGS = ['-nP', '-iTCP', '-sTCP:LISTEN', '-iUDP', '-F', 'pctPn'];

/** Established TCP connections (for the identity proof), in lsof's field output. */
export const LSOF_CONNECTIONS_ARGS = ['-nP', '-iTCP', '-sTCP:ESTABLISHED', '-F', 'pctPn'];

/** The program files of some processes (macOS ps prints the executable's full path for comm). */
export function psArgs(pids: readonly number[]): string[] {
  return ['-o', 'pid=,comm=', '-p', pids.join(',')];
}

/** A shell word: single-quoted when it holds anything but safe characters. */
export function shQuote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The pf anchor a manifest's rules live in (the main ruleset reaches them through `anchor "porthole/*"`). */
export function pfAnchor(manifest: string): string {
  return `porthole/${manifest}`;
}

/**
 * The lines that load or flush a manifest's anchor by hand. The anchor's rules are in the lines
 * themselves (a here-document), so they work wherever they are pasted: the plan's source may be
 * a port spec (`<ports>`) that no file holds.
 */
export function macosCommandsFor(plan: RulePlan): FirewallCommands {
  const anchor = shQuote(pfAnchor(plan.manifest));
  const rules = (backends.pf.render(plan)[0]?.content ?? '').replace(/\n$/, '').split('\n');
  return {
    shell: 'sh',
    apply: [`sudo pfctl -a ${anchor} -f - <<'PORTHOLE_PF'`, ...rules, 'PORTHOLE_PF'],
    remove: [`sudo pfctl -a ${anchor} -F rules`],
  };
}
