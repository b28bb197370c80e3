/**
 * `porthole ui`'s server, running: a fresh key, the page on a loopback address (a free port by
 * default), the browser opened at its address unless asked not to, and one way to stop (Ctrl-C's
 * signal or the page's Stop button), which stops every run the page keeps and closes the server.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { buildUi, type UiAppOptions } from './app.js';
import { DEFAULT_UI_LISTEN, type UiListen, uiOrigin } from './listen.js';

/** How to start the page. */
export interface StartUiOptions extends Pick<UiAppOptions, 'run' | 'examples'> {
  /** Where to listen (loopback only: parseUiListen); default a free port on 127.0.0.1. */
  readonly listen?: UiListen;
  /** Open the default browser at the page (default true; tests and `--no-open` say false). */
  readonly open?: boolean;
  /** Stops the page when it aborts (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Opens a URL in the default browser (default: xdg-open, open or start); tests replace it. */
  readonly openBrowser?: (url: string) => Promise<boolean>;
}

/** The page, running. */
export interface RunningUi {
  /** The page's address with its key: what to open. */
  readonly url: string;
  /** The page's origin, without the key. */
  readonly origin: string;
  /** Whether a browser was asked to open it. */
  readonly opened: boolean;
  /** Resolves once the page has stopped (Stop button, the signal, or stop()). */
  readonly stopped: Promise<'page' | 'signal' | 'stop'>;
  /** Stops the page: every run stopped (kept roads undone), the server closed. */
  stop(): Promise<void>;
}

/** The key: 32 random bytes, in URL-safe base64 (43 characters). */
function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The system's own way to open a URL in the default browser. */
function browserCommand(url: string): [string, string[]] {
  if (process.platform === 'darwin') return ['open', [url]];
  // `start` is cmd's; the empty title (Node quotes '' as "") keeps the URL from being taken for one.
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '', url]];
  return ['xdg-open', [url]];
}

/** Opens `url` in the default browser; false when no opener could start (the URL is printed anyway). */
export function openInBrowser(url: string): Promise<boolean> {
  const [command, args] = browserCommand(url);
  return new Promise((resolve) => {
    const child = spawn(command, args, { detached: true, stdio: 'ignore', windowsHide: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

/** Starts the page; resolves once it listens. */
export async function startUi(options: StartUiOptions = {}): Promise<RunningUi> {
  const listen = options.listen ?? DEFAULT_UI_LISTEN;
  const token = newToken();
  let resolveStopped: (how: 'page' | 'signal' | 'stop') => void = () => {};
  const stopped = new Promise<'page' | 'signal' | 'stop'>((resolve) => {
    resolveStopped = resolve;
  });
  let stopping: Promise<void> | undefined;
  const stopAs = (how: 'page' | 'signal' | 'stop'): Promise<void> => {
    stopping ??= (async () => {
      options.signal?.removeEventListener('abort', onAbort);
      await ui.app.close();
      resolveStopped(how);
    })();
    return stopping;
  };
  const onAbort = () => void stopAs('signal');
  const ui = await buildUi({
    token,
    host: listen.host,
    ...(options.run ? { run: options.run } : {}),
    ...(options.examples !== undefined ? { examples: options.examples } : {}),
    onStop: () => void stopAs('page'),
  });
  await ui.app.listen({ host: listen.host, port: listen.port });
  const port = (ui.app.server.address() as AddressInfo).port;
  const origin = uiOrigin(listen.host, port);
  // The first request through a route compiles its code: ask the page's own files once before
  // the address is printed, so the browser's first paint does not wait for that (docs/BENCHMARKS.md).
  for (const path of ['/assets/ui.css', '/assets/ui.js'])
    await ui.app.inject({ method: 'GET', url: path, headers: { host: origin.replace('http://', '') } });
  const url = `${origin}/?token=${token}`;
  if (options.signal?.aborted) await stopAs('signal');
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const opened = options.open === false ? false : await (options.openBrowser ?? openInBrowser)(url);
  return { url, origin, opened, stopped, stop: () => stopAs('stop') };
}
