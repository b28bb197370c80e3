/** The coded error for a socket that could not bind; other errors pass through unchanged. */
import { PortholeError } from '../errors/index.js';

/** Maps bind failures on `where` (`ADDR:PORT/proto`) to E_PORT_IN_USE, E_PERMISSION or E_ADDRESS. */
export function bindError(error: unknown, where: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new PortholeError('E_PORT_IN_USE', { detail: where, cause: error });
  if (code === 'EACCES') return new PortholeError('E_PERMISSION', { detail: `listening on ${where}`, cause: error });
  if (code === 'EADDRNOTAVAIL') {
    return new PortholeError('E_ADDRESS', {
      detail: `${where}: the address is not on this machine`,
      hint: "Use one of this machine's addresses (ip -brief address).",
      cause: error,
    });
  }
  return error;
}
