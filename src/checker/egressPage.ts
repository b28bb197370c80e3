/**
 * The /egress page: "Can this network reach the internet on the ports I need?", from the
 * visitor's browser. Nothing runs until the visitor presses the button (a page that starts by
 * itself tests before the person has said which ports matter). The script asks our test
 * server on each port for its answer over plain HTTP (`GET /probe?port=N&nonce=…`), all ports
 * at once with short deadlines, and fills a table as answers come: open, blocked, answered by
 * something else (a proxy or a login page), or not testable from a browser (the Fetch
 * standard's bad ports, which no browser contacts in any network). The visitor's own ports
 * ("7001, 5655") are tested beside the common ones. Words are for people who are not network
 * engineers; the machine-readable state stays in `data-state` / `data-reason`.
 */
import { BROWSER_REFUSED_PORTS, COMMON_EGRESS_PORTS } from '../egress/index.js';

/** The page's Content-Security-Policy: scripts only from here, fetches to the egress address. */
export function egressPageCsp(egressAddress: string): string {
  const host = egressAddress.includes(':') ? `[${egressAddress}]` : egressAddress;
  return `default-src 'self'; connect-src 'self' http://${host}:*; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
}

/** How many ports of their own a visitor may add: one test costs one connection per port. */
export const MAX_OWN_PORTS = 32;

/** The page. */
export function egressPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>porthole: which ports does this network let out?</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.5rem; }
  form { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; }
  label { display: flex; flex-direction: column; font-weight: 600; }
  input { font: inherit; padding: .4rem .6rem; width: 14rem; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
  .reachable { color: #137333; font-weight: 600; }
  .blocked { color: #b3261e; font-weight: 600; }
  .intercepted { color: #b06000; font-weight: 600; }
  .untestable, .waiting { color: #555; }
  .detail { color: #444; font-size: .9rem; }
  .problem { color: #b3261e; }
  progress { width: 100%; }
  button { font: inherit; padding: .45rem 1rem; cursor: pointer; }
</style>
</head>
<body>
<h1>Which ports does this network let out?</h1>
<p>Some networks (hotels, offices, venues) only let a few kinds of connections out to the internet. This test
tries to reach our test server<span class="detail"> (<span id="egress-address">…</span>)</span> on common ports
and on any ports you add, and shows which ones get through. It takes a few seconds.</p>
<form id="egress-form">
  <label>Your own ports (optional) <input id="own-ports" name="ports" inputmode="numeric" placeholder="7001, 5655"></label>
  <button id="run" type="submit">Start the test</button>
</form>
<p id="input-problem" class="problem" aria-live="polite"></p>
<progress id="progress" value="0" max="1" hidden></progress>
<table>
  <thead><tr><th>Port</th><th>Usually for</th><th>Result</th><th>What happened</th></tr></thead>
  <tbody id="egress-results"></tbody>
</table>
<p id="summary" class="detail" aria-live="polite"></p>
<p class="detail">Open: our test server answered, so this network lets that port out.
Blocked: nothing came back, or the connection failed at once.
Answered by something else: a device on this network (a proxy or a login page) answered in our server's place, so
the port does not really reach the internet. Browsers never connect to some ports (mail, SSH, FTP…) on any
network; those are marked <em>cannot be tested from a browser</em>, not blocked.</p>
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
const MAX_OWN = ${MAX_OWN_PORTS};
// Every port is tried at once; an answer across the internet takes well under a second, so a
// port silent for 2.5 s is blocked. The whole test then ends in about 3 s.
const TIMEOUT_MS = 2500;
const SECOND_LOOK_MS = 1500;
const LABELS = { reachable: 'Open', blocked: 'Blocked', intercepted: 'Answered by something else', untestable: 'Cannot be tested from a browser', waiting: 'Testing…' };
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
/** "7001, 5655 8000-8002" -> { ports, problem }. */
function parseOwnPorts(text) {
  const ports = [];
  for (const word of text.split(/[\\s,;]+/).filter(Boolean)) {
    const match = /^(\\d{1,5})(?:-(\\d{1,5}))?$/.exec(word);
    const start = match ? Number(match[1]) : NaN;
    const end = match && match[2] ? Number(match[2]) : start;
    if (!match || start < 1 || end > 65535 || end < start) {
      return { ports: [], problem: '"' + word + '" is not a port number (1 to 65535) or a range such as 8000-8010.' };
    }
    for (let port = start; port <= end; port++) if (!ports.includes(port)) ports.push(port);
    if (ports.length > MAX_OWN) return { ports: [], problem: 'At most ' + MAX_OWN + ' ports of your own, please.' };
  }
  return { ports, problem: '' };
}
async function probe(host, port) {
  const id = nonce();
  const url = 'http://' + host + ':' + port + '/probe?port=' + port + '&nonce=' + id;
  const started = performance.now();
  try {
    const response = await fetch(url, { cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = await response.json().catch(() => undefined);
    if (body && body.protocol === 'porthole-egress/1' && body.port === port && body.nonce === id) {
      return { state: 'reachable', reason: 'signed', detail: 'Our test server answered (in ' + Math.round(performance.now() - started) + ' ms).' };
    }
    return { state: 'intercepted', reason: 'foreign-answer', detail: 'Something else answered (a web page with code ' + response.status + '), not our test server.' };
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    if (error && error.name === 'TimeoutError') {
      return { state: 'blocked', reason: 'timeout', detail: 'No answer within ' + (TIMEOUT_MS / 1000) + ' seconds.' };
    }
    // A fast failure: refused, or something answered without our server's permission header.
    // A second look without CORS tells the second from the first when the answer is a page;
    // a portal's redirect to its login page cannot be told from a refusal inside the browser
    // (following it leaves the page's allowed addresses), so the words cover both.
    try {
      await fetch(url, { mode: 'no-cors', cache: 'no-store', signal: AbortSignal.timeout(SECOND_LOOK_MS) });
      return { state: 'intercepted', reason: 'foreign-answer', detail: 'Something on this network answered that is not our test server.' };
    } catch {
      return { state: 'blocked', reason: 'failed-fast', detail: 'The connection failed at once (after ' + ms + ' ms): refused, or turned away by something on this network, such as a login page.' };
    }
  }
}
function cell(text, className) {
  const node = document.createElement('td');
  node.textContent = text;
  if (className) node.className = className;
  return node;
}
function show(row, result) {
  row.dataset.state = result.state;
  row.dataset.reason = result.reason || '';
  row.replaceChildren(row.firstChild, row.children[1], cell(result.label || LABELS[result.state], result.state), cell(result.detail, 'detail'));
}
async function runAll(event) {
  if (event) event.preventDefault();
  const button = document.getElementById('run');
  const body = document.getElementById('egress-results');
  const summary = document.getElementById('summary');
  const progress = document.getElementById('progress');
  const own = parseOwnPorts(document.getElementById('own-ports').value);
  document.getElementById('input-problem').textContent = own.problem;
  if (own.problem) return;
  delete document.body.dataset.done;
  button.disabled = true;
  body.replaceChildren();
  summary.textContent = 'Testing…';
  const started = performance.now();
  try {
    const info = await (await fetch('/v1/egress')).json();
    if (info.error) throw new Error(info.error.message);
    document.getElementById('egress-address').textContent = info.address;
    const host = info.address.includes(':') ? '[' + info.address + ']' : info.address;
    const ranges = rangesOf(info.tcp);
    const usual = new Map(COMMON.map(({ port, use }) => [port, use]));
    const list = [...own.ports.map((port) => ({ port, use: usual.has(port) ? usual.get(port) + ' (yours)' : 'your port', mine: true })),
      ...COMMON.filter(({ port }) => !own.ports.includes(port))];
    const rows = list.map(({ port, use, mine }) => {
      const row = document.createElement('tr');
      row.dataset.port = String(port);
      if (mine) row.dataset.own = 'true';
      row.append(cell(String(port)), cell(use));
      show(row, { state: 'waiting', detail: '' });
      body.append(row);
      return { port, row };
    });
    let done = 0;
    progress.max = rows.length;
    progress.value = 0;
    progress.hidden = false;
    const counts = { reachable: 0, blocked: 0, intercepted: 0 };
    await Promise.all(rows.map(async ({ port, row }) => {
      let result;
      if (REFUSED.has(port)) result = { state: 'untestable', reason: 'browser-refuses', detail: 'Browsers never connect to this port, on any network. porthole egress (the command) can test it.' };
      else if (!served(port, ranges)) result = { state: 'untestable', reason: 'not-served', label: 'Not covered by this test', detail: 'Our test server does not answer on this port.' };
      else result = await probe(host, port);
      if (counts[result.state] !== undefined) counts[result.state]++;
      show(row, result);
      done++;
      progress.value = done;
      summary.textContent = 'Tested ' + done + ' of ' + rows.length + ' ports…';
    }));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    summary.textContent = counts.reachable + ' open, ' + counts.blocked + ' blocked, ' + counts.intercepted +
      ' answered by something else (' + rows.length + ' ports in ' + seconds + ' s).';
    document.body.dataset.done = 'true';
  } catch (error) {
    summary.textContent = 'The test could not run: ' + error.message;
    document.body.dataset.done = 'error';
  } finally {
    button.disabled = false;
    button.textContent = 'Test again';
  }
}
document.getElementById('egress-form').addEventListener('submit', runAll);
`;
}
