#!/usr/bin/env node
/** The `porthole` executable: wires the process into runCli and handles Ctrl-C. */
import { runCli } from './program.js';

const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals) => {
  interrupts++;
  // First Ctrl-C: let the command clean up (remove mappings, rules). Second: leave now.
  if (interrupts > 1) process.exit(130);
  controller.abort(new Error(`interrupted by ${signal}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const status = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
process.exitCode = status;
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
