/**
 * The soak's outside view (run by scripts/soak.ts inside the lab's internet namespace): once a
 * second, a TCP connection to the public address, which counts only when the LAN server's banner
 * comes back (so a connection some other listener answers is not taken for the mapping). The
 * address is read from a file before each probe: the soak changes it when the WAN address moves.
 * One JSON line per probe on stdout; bounded by --count.
 *
 *   node --import tsx scripts/soakProbe.ts ADDRESS_FILE PORT BANNER COUNT
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { sleep } from '../src/deadline/index.js';

const [file = '', portText = '', banner = '', countText = ''] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
/** Probes start on a 1 s grid; one gets 900 ms, so a slow one never overlaps the next. */
const INTERVAL_MS = 1000;
const TIMEOUT_MS = 900;

/** One connection: 'ok' when the banner arrived, else what happened instead. */
function probe(address: string): Promise<string> {
  return new Promise((resolve) => {
    let seen = '';
    let connected = false;
    const socket = connect({ host: address, port });
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(outcome);
    };
    // 'timeout': no handshake (the router dropped it); 'no-banner': connected, but the server said nothing in time.
    const timer = setTimeout(() => done(seen ? 'wrong-banner' : connected ? 'no-banner' : 'timeout'), TIMEOUT_MS);
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.includes(banner)) done('ok');
      else if (seen.length > 4096) done('wrong-banner');
    });
    socket.on('end', () => done(seen.includes(banner) ? 'ok' : seen ? 'wrong-banner' : 'closed-silently'));
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? 'error'));
  });
}

const started = Date.now();
for (let i = 0; i < count; i++) {
  await sleep(Math.max(0, started + i * INTERVAL_MS - Date.now()));
  const at = Date.now();
  let address = '';
  try {
    address = readFileSync(file, 'utf8').trim();
  } catch {
    // The soak is gone (its lab folder removed): stop.
    break;
  }
  const outcome = await probe(address);
  process.stdout.write(`${JSON.stringify({ at, address, outcome, ms: Date.now() - at })}\n`);
}
