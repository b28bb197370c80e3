#!/usr/bin/env node
/** The `porthole` executable: wires the process into runCli and handles Ctrl-C. */

const argv = process.argv.slice(2);
// `porthole --version` answers without loading the frame: scripts call it to probe for porthole.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { packageVersion } = await import('../system/index.js');
  process.stdout.write(`${packageVersion()}\n`);
  process.exit(0);
}
const [{ runCli }, { PortholeError }] = await Promise.all([import('./program.js'), import('../errors/index.js')]);

const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals) => {
  interrupts++;
  // First Ctrl-C: let the command clean up (remove mappings, rules). Second: leave now.
  if (interrupts > 1) process.exit(130);
  // The reason is already the coded error the frame reports, so nothing below has to guess.
  controller.abort(new PortholeError('E_ABORTED', { detail: `interrupted by ${signal}` }));
};
/**
 * Ctrl-C, a stop, and the terminal going away all end a command the same way, with its cleanup:
 * SIGHUP is a closed terminal on Unix and a closed console window on Windows (Node gives about 10 s
 * there before Windows ends the process); SIGBREAK is Windows' Ctrl+Break.
 */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'];
for (const signal of SIGNALS) process.on(signal, onSignal);

const status = await runCli(argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
  // A command that outlived its deadline may still hold a socket: end once the error is written.
  abandon: () => setTimeout(() => process.exit(3), 200),
});
process.exitCode = status;
// The command is over: a handle something left open (a child, a socket) must not keep the process
// alive past its verdict. The timer does not itself keep the process alive.
setTimeout(() => process.exit(status), 1000).unref();
for (const signal of SIGNALS) process.off(signal, onSignal);
