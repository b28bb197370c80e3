/**
 * NAT behaviour discovery (RFC 5780): mapping behaviour from three Binding requests to the
 * server's primary and alternate addresses, filtering behaviour from CHANGE-REQUESTs, port
 * preservation, and hairpinning. Tests that can run at once do (same socket, distinct
 * transaction ids), so the silent ones cost one timeout, not three.
 */
import { randomBytes } from 'node:crypto';
import type { AbortOptions } from '../deadline/index.js';
import { PortholeError } from '../errors/index.js';
import { BINDING_REQUEST, encodeStunMessage, type StunAddress } from './stunCodec.js';
import { openStunSocket, type StunSocket, silenceSchedule } from './stunSocket.js';

/** RFC 5780's three classes, for mapping and for filtering. */
export type NatBehavior = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

/** What the STUN tests found, with their evidence. */
export interface StunFindings {
  readonly server: StunAddress;
  readonly local: StunAddress;
  /** Our address and port as the server saw them (test I). */
  readonly mapped: StunAddress;
  readonly otherAddress: StunAddress | undefined;
  /** undefined when the server cannot do RFC 5780 (no OTHER-ADDRESS). */
  readonly mapping: NatBehavior | undefined;
  readonly filtering: NatBehavior | undefined;
  readonly portPreserved: boolean;
  /** null when not tested (no NAT). */
  readonly hairpinning: boolean | null;
  /** Each test's outcome, in words. */
  readonly evidence: readonly string[];
  readonly warnings: readonly string[];
  readonly ms: number;
}

function same(a: StunAddress | undefined, b: StunAddress | undefined): boolean {
  return !!a && !!b && a.address === b.address && a.port === b.port;
}

function mappedOf(answer: {
  message: { xorMappedAddress?: StunAddress; mappedAddress?: StunAddress };
}): StunAddress | undefined {
  return answer.message.xorMappedAddress ?? answer.message.mappedAddress;
}

/** Runs the RFC 5780 tests against `server` (its primary address and port). */
export async function discoverNatBehavior(server: StunAddress, options: AbortOptions = {}): Promise<StunFindings> {
  const started = performance.now();
  const socket = await openStunSocket();
  try {
    return await runTests(socket, server, options, started);
  } finally {
    socket.close();
  }
}

async function runTests(
  socket: StunSocket,
  server: StunAddress,
  options: AbortOptions,
  started: number,
): Promise<StunFindings> {
  const evidence: string[] = [];
  const first = await socket.binding(server, options);
  if (!first)
    throw new PortholeError('E_STUN_NO_ANSWER', {
      detail: `${server.address}:${server.port} did not answer a Binding request`,
    });
  const mapped = mappedOf(first);
  if (!mapped)
    throw new PortholeError('E_MALFORMED_PACKET', { detail: 'STUN: a Binding response without a mapped address' });
  const other = first.message.otherAddress;
  evidence.push(
    `test I: ${server.address}:${server.port} saw us as ${mapped.address}:${mapped.port} (local ${socket.local.port}), ${first.rttMs} ms`,
  );
  const local = { address: socket.local.address, port: socket.local.port };
  const portPreserved = mapped.port === local.port;
  // Silence is waited for in proportion to this server's round trip (stunSocket.ts). A round trip
  // timed while this process was busy (a garbage collection, a child process starting: the doctor
  // runs its steps at once) is longer than the path's, and the least of two samples is nearer it.
  // The second is asked only when the first would lengthen the wait.
  let rttMs = first.rttMs;
  if (silenceSchedule(rttMs).giveUpMs > silenceSchedule(0).giveUpMs) {
    const second = await socket.binding(server, options);
    if (second) {
      rttMs = Math.min(rttMs, second.rttMs);
      evidence.push(`a second Binding: ${second.rttMs} ms; silence is judged on ${rttMs} ms`);
    }
  }
  const silence = silenceSchedule(rttMs);

  // Hairpinning: a second socket sends a Binding request to our own mapped address; it
  // hairpins when the NAT loops it back to the first socket.
  const hairpinProbe = (async () => {
    const sender = await openStunSocket();
    try {
      const transactionId = randomBytes(12);
      const arrived = socket.awaitIncoming(transactionId, silence.giveUpMs);
      for (const at of silence.sendAtMs) {
        setTimeout(
          () => sender.sendRaw(encodeStunMessage({ type: BINDING_REQUEST, transactionId }), mapped),
          at,
        ).unref();
      }
      return await arrived;
    } finally {
      sender.close();
    }
  })();

  if (!other) {
    evidence.push(
      'the server gave no OTHER-ADDRESS: it cannot run RFC 5780 tests, so mapping and filtering are unknown',
    );
    const hairpinning = await hairpinProbe;
    return {
      server,
      local,
      mapped,
      otherAddress: undefined,
      mapping: undefined,
      filtering: undefined,
      portPreserved,
      hairpinning,
      evidence,
      warnings: socket.warnings,
      ms: Math.round(performance.now() - started),
    };
  }

  const alternateIpPrimaryPort = { address: other.address, port: server.port };
  // Filtering runs on a fresh socket (a fresh NAT mapping) that has only ever talked to the
  // primary address: the mapping tests' packets to the other address and port would otherwise
  // open the very filter the CHANGE-REQUESTs test. Both halves run at once.
  const filteringProbe = (async () => {
    const fresh = await openStunSocket();
    try {
      if (!(await fresh.binding(server, options))) return { both: undefined, port: undefined };
      const [both, port] = await Promise.all([
        fresh.binding(server, { ...options, changeIp: true, changePort: true, schedule: silence }),
        fresh.binding(server, { ...options, changePort: true, schedule: silence }),
      ]);
      return { both, port };
    } finally {
      fresh.close();
    }
  })();
  const [second, third, filtered, hairpinning] = await Promise.all([
    socket.binding(alternateIpPrimaryPort, options),
    socket.binding(other, options),
    filteringProbe,
    hairpinProbe,
  ]);
  const filterBoth = filtered.both;
  const filterPort = filtered.port;

  let mapping: NatBehavior | undefined;
  const secondMapped = second ? mappedOf(second) : undefined;
  const thirdMapped = third ? mappedOf(third) : undefined;
  if (!secondMapped)
    evidence.push(`test II: ${alternateIpPrimaryPort.address}:${alternateIpPrimaryPort.port} did not answer`);
  else if (same(secondMapped, mapped)) {
    mapping = 'endpoint-independent';
    evidence.push(
      `test II: from the other address we are still ${secondMapped.address}:${secondMapped.port}: endpoint-independent mapping`,
    );
  } else if (!thirdMapped) evidence.push(`test III: ${other.address}:${other.port} did not answer`);
  else {
    mapping = same(thirdMapped, secondMapped) ? 'address-dependent' : 'address-and-port-dependent';
    evidence.push(
      `tests II/III: ${secondMapped.address}:${secondMapped.port} then ${thirdMapped.address}:${thirdMapped.port}: ${mapping} mapping`,
    );
  }

  let filtering: NatBehavior;
  if (filterBoth) {
    filtering = 'endpoint-independent';
    evidence.push(
      `filtering test II: an answer from the other address and port (${filterBoth.from.address}:${filterBoth.from.port}) got in`,
    );
  } else if (filterPort) {
    filtering = 'address-dependent';
    evidence.push(
      `filtering test III: only an answer from the same address, other port (${filterPort.from.port}), got in`,
    );
  } else {
    filtering = 'address-and-port-dependent';
    evidence.push('filtering tests II and III: no answer from another address or port got in');
  }
  evidence.push(
    hairpinning
      ? 'hairpin: a packet to our own mapped address came back to us'
      : 'hairpin: a packet to our own mapped address did not come back',
  );
  return {
    server,
    local,
    mapped,
    otherAddress: other,
    mapping,
    filtering,
    portPreserved,
    hairpinning,
    evidence,
    warnings: socket.warnings,
    ms: Math.round(performance.now() - started),
  };
}
