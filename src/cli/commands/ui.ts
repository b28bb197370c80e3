/**
 * `porthole ui [--no-open] [--listen 127.0.0.1:PORT]`: the local page, until Ctrl-C or its Stop
 * button. A frame over src/ui's startUi: it reads the flags, prints the page's address (with its
 * key) and waits.
 */
import type { CommandSpec } from '../commandSpec.js';

/** The `ui` command. */
export const uiCommand: CommandSpec = {
  name: 'ui',
  summary: 'a page on this computer (loopback only) that checks and opens your ports, for use in a browser',
  options: [
    ['--listen <addr:port>', 'loopback address and port of the page (default: a free port on 127.0.0.1)'],
    ['--no-open', 'do not open the browser; only print the address'],
  ],
  run: async ({ options, output, env, signal }) => {
    // The page's server loads Fastify: only when this command runs.
    const { parseUiListen, startUi } = await import('../../ui/index.js');
    const listen = parseUiListen(typeof options.listen === 'string' ? options.listen : undefined);
    const running = await startUi({ listen, open: options.open !== false, signal, run: { env } });
    if (output.json) output.jsonLine({ url: running.url, opened: running.opened });
    else
      output.notice(
        `porthole ui: open ${running.url}${running.opened ? ' (opened in your browser)' : ''}\nIt works on this computer only. Stop it with the page's Stop button or Ctrl-C.`,
      );
    const how = await running.stopped;
    return {
      exitCode: 0,
      jsonLine: true,
      json: { url: running.origin, stopped: how },
      human: () => `porthole ui stopped (${how === 'page' ? "the page's Stop button" : 'interrupted'}).`,
    };
  },
};
