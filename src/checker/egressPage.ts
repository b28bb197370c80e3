/**
 * The /egress page: "Test this network's firewall" from the visitor's browser. The script asks
 * the egress listener on each common port for the signed handshake over plain HTTP
 * (`GET /probe?port=N&nonce=…`), and shows a table: reachable, blocked (refused or timed out),
 * intercepted (something answered, not the listener), or not testable from a browser (the
 * Fetch standard's bad ports, which no browser contacts in any network).
 */
import { BROWSER_REFUSED_PORTS, COMMON_EGRESS_PORTS } from '../egress/browserPorts.js';

/** The page's Content-Security-Policy: scripts only from here, fetches to the egress address. */
export function egressPageCsp(egressAddress: string): string {
  const host = egressAddress.includes(':') ? `[${egressAddress}]` : egressAddress;
  return `default-src 'self'; connect-src 'self' http://${host}:*; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
}

/** The page. */
export function egressPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>porthole: test this network's firewall</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.5rem; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
  .reachable { color: #137333; font-weight: 600; }
  .blocked { color: #b3261e; font-weight: 600; }
  .intercepted { color: #b06000; font-weight: 600; }
  .untestable { color: #555; }
  .detail { color: #444; font-size: .9rem; }
  button { font: inherit; padding: .45rem 1rem; cursor: pointer; }
</style>
</head>
<body>
<h1>Test this network's firewall</h1>
<p>Your browser connects out to porthole's egress listener at <strong id="egress-address">…</strong> on common ports.
A port is <em>reachable</em> when the listener's signed answer came back, <em>blocked</em> when the connection was refused
or never answered, and <em>intercepted</em> when something else (a proxy, a captive portal) answered in its place.</p>
<p class="detail">Browsers refuse some ports in every network (mail, SSH, FTP, SIP…); those are marked
<em>not testable from a browser</em>, not blocked. Test them with <code>porthole egress --checker URL --ports 25,22</code>.</p>
<button id="run" type="button">Test again</button>
<table>
  <thead><tr><th>Port</th><th>Usually</th><th>Result</th><th>Detail</th></tr></thead>
  <tbody id="egress-results"></tbody>
</table>
<p id="summary" class="detail" aria-live="polite"></p>
<script src="/assets/egress.js"></script>
</body>
</html>
`;
}

/** The page's script. */
export function egressPageScript(): string {
  return `'use strict';
const COMMON = ${JSON.stringify(COMMON_EGRESS_PORTS)};
const REFUSED = new Set(${JSON.stringify([...BROWSER_REFUSED_PORTS])});
const TIMEOUT_MS = 4000;
function nonce() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
function served(port, ranges) {
  return ranges.some(([start, end]) => port >= start && port <= end);
}
function rangesOf(spec) {
  return spec ? spec.split(',').map((item) => item.split('/')[0]).map((item) => {
    const [start, end] = item.split('-').map(Number);
    return [start, end === undefined ? start : end];
  }) : [];
}
async function probe(host, port) {
  const id = nonce();
  const url = 'http://' + host + ':' + port + '/probe?port=' + port + '&nonce=' + id;
  const started = performance.now();
  try {
    const response = await fetch(url, { cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = await response.json().catch(() => undefined);
    if (body && body.protocol === 'porthole-egress/1' && body.port === port && body.nonce === id) {
      return { state: 'reachable', detail: 'signed answer in ' + Math.round(performance.now() - started) + ' ms' };
    }
    return { state: 'intercepted', detail: 'answered with HTTP ' + response.status + ', not the listener' };
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    if (error && error.name === 'TimeoutError') return { state: 'blocked', detail: 'no answer in ' + TIMEOUT_MS + ' ms' };
    // A fast failure: refused, or something answered without the listener's CORS header.
    try {
      await fetch(url, { mode: 'no-cors', cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
      return { state: 'intercepted', detail: 'something answered that is not the listener' };
    } catch {
      return { state: 'blocked', detail: 'refused after ' + ms + ' ms' };
    }
  }
}
function cell(text, className) {
  const node = document.createElement('td');
  node.textContent = text;
  if (className) node.className = className;
  return node;
}
async function runAll() {
  const button = document.getElementById('run');
  const body = document.getElementById('egress-results');
  const summary = document.getElementById('summary');
  button.disabled = true;
  body.replaceChildren();
  summary.textContent = 'Testing…';
  try {
    const info = await (await fetch('/v1/egress')).json();
    if (info.error) throw new Error(info.error.message);
    document.getElementById('egress-address').textContent = info.address;
    const host = info.address.includes(':') ? '[' + info.address + ']' : info.address;
    const ranges = rangesOf(info.tcp);
    const rows = COMMON.map(({ port, use }) => {
      const row = document.createElement('tr');
      row.dataset.port = String(port);
      row.append(cell(String(port)), cell(use));
      body.append(row);
      return { port, row };
    });
    const counts = { reachable: 0, blocked: 0, intercepted: 0 };
    await Promise.all(rows.map(async ({ port, row }) => {
      let result;
      if (REFUSED.has(port)) result = { state: 'untestable', label: 'not testable from a browser', detail: 'browsers never contact this port; use porthole egress' };
      else if (!served(port, ranges)) result = { state: 'untestable', label: 'not served', detail: 'the listener does not answer on this port' };
      else result = await probe(host, port);
      if (counts[result.state] !== undefined) counts[result.state]++;
      row.dataset.state = result.state;
      row.append(cell(result.label || result.state, result.state), cell(result.detail, 'detail'));
    }));
    summary.textContent = counts.reachable + ' reachable, ' + counts.blocked + ' blocked, ' + counts.intercepted + ' intercepted.';
    document.body.dataset.done = 'true';
  } catch (error) {
    summary.textContent = 'The test could not run: ' + error.message;
    document.body.dataset.done = 'error';
  } finally {
    button.disabled = false;
  }
}
document.getElementById('run').addEventListener('click', runAll);
runAll();
`;
}
