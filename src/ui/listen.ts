/**
 * Where the local page listens: a loopback address only, because the page can change the router
 * and the host firewall. `--listen` naming any other address is refused before anything binds.
 */
import { PortholeError } from '../errors/index.js';
import { classifyAddress, isIpLiteral } from '../net/index.js';

/** Where the page listens. */
export interface UiListen {
  /** A loopback address: `127.0.0.1` (default), another 127/8 address, or `::1`. */
  readonly host: string;
  /** 0: a free port chosen by the system. */
  readonly port: number;
}

/** The default: a free port on 127.0.0.1. */
export const DEFAULT_UI_LISTEN: UiListen = { host: '127.0.0.1', port: 0 };

/**
 * Parses `--listen ADDR:PORT` (`127.0.0.1:8765`, `[::1]:8765`, `localhost:8765`); refuses a
 * non-loopback address with E_UI_LISTEN (exit 2) and a malformed one with E_USAGE.
 */
export function parseUiListen(text: string | undefined): UiListen {
  if (text === undefined || text === '') return DEFAULT_UI_LISTEN;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new PortholeError('E_USAGE', {
      detail: `--listen "${text}" is not ADDR:PORT`,
      hint: 'Write --listen 127.0.0.1:8765, or leave it out for a free port.',
    });
  }
  const given = match[1] ?? match[2] ?? '';
  // `localhost` may resolve to anything the resolver says; the page binds the literal instead.
  const host = given === 'localhost' ? '127.0.0.1' : given;
  if (!isIpLiteral(host) || classifyAddress(host) !== 'loopback') {
    throw new PortholeError('E_UI_LISTEN', {
      detail: `--listen ${text}: ${given} is not a loopback address`,
      data: { listen: text },
    });
  }
  return { host, port };
}

/** The page's origin as a browser names it: `http://127.0.0.1:8765`, `http://[::1]:8765`. */
export function uiOrigin(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
