/**
 * Keeping open probe connections a while: a checker holds each connection that carried no proof
 * until its answer is out (plus a grace), so the probed host can find the checker's end among its
 * own sockets (src/probe/peerProof.ts). One holder per answer; `release` ends every connection once.
 */
import type { Socket } from 'node:net';

/** Connections kept for one answer. */
export interface ProbeHold {
  /** Takes a connection (pass as `hold` to probeTcp/probePorts). */
  readonly hold: (socket: Socket) => void;
  /** Ends every held connection `afterMs` from now (again: no effect). */
  readonly release: (afterMs: number) => void;
}

/** A fresh holder. Its timer does not keep the process alive. */
export function createProbeHold(): ProbeHold {
  const held = new Set<Socket>();
  let timer: NodeJS.Timeout | undefined;
  return {
    hold: (socket) => {
      socket.on('error', () => {});
      // The probed server may speak first or hang up; nothing it sends is read.
      socket.resume();
      held.add(socket);
    },
    release: (afterMs) => {
      if (timer) return;
      timer = setTimeout(() => {
        for (const socket of held) socket.destroy();
        held.clear();
      }, afterMs);
      timer.unref();
    },
  };
}
