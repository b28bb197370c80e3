/**
 * The web page of seed 000's checker: "Port to check", "Check port", then Success or Error
 * for the visitor's own address, with what the verdict means. No external assets; the script
 * is served from the same origin so the page runs under a strict Content-Security-Policy.
 */
import { EXPLANATIONS, FOUR_CAUSES, REASON_WORDS } from './explain.js';

/** The Content-Security-Policy for the pages: nothing from anywhere else. */
export const PAGE_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The check page. */
export function checkPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>porthole: check a port from outside</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.5rem; }
  form { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; }
  label { display: flex; flex-direction: column; font-weight: 600; }
  input { font: inherit; padding: .4rem .6rem; width: 12rem; }
  button { font: inherit; padding: .45rem 1rem; cursor: pointer; }
  .result { margin-top: 1.5rem; padding: 1rem; border-radius: .4rem; }
  .Success { background: #e6f4ea; border: 1px solid #34a853; }
  .Error { background: #fce8e6; border: 1px solid #d93025; }
  .verdict { font-size: 1.25rem; font-weight: 700; }
  .detail { color: #444; font-size: .9rem; }
</style>
</head>
<body>
<h1>Is my port open from the internet?</h1>
<p>This page asks a server on the internet to connect to your internet address, <strong id="address">…</strong>,
on the port you name, the way a friend or a customer would from outside. Success means they can reach it.</p>
<form id="check-form">
  <label>Port to check <input id="port" name="port" inputmode="numeric" placeholder="7001 or 5353/udp" required></label>
  <button id="check" type="submit">Check port</button>
</form>
<div id="results" aria-live="polite"></div>
<script src="/assets/check.js"></script>
</body>
</html>
`;
}

/**
 * The page's script, with the plain words of explain.ts built in. Each result box keeps the
 * machine-readable verdict in `data-state`, `data-reason` and `data-verified`.
 */
export function checkPageScript(): string {
  return `'use strict';
const EXPLANATIONS = ${JSON.stringify(EXPLANATIONS)};
const FOUR_CAUSES = ${JSON.stringify(FOUR_CAUSES)};
const REASON_WORDS = ${JSON.stringify(REASON_WORDS)};
const PROTOCOLS = { tcp: 'TCP', udp: 'UDP' };
function explain(state, verified) {
  if (state === 'open') return EXPLANATIONS[verified === true ? 'open-verified' : verified === false ? 'open-other' : 'open-unverified'];
  return EXPLANATIONS[state];
}
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
fetch('/v1/ip').then((response) => response.json()).then((body) => {
  document.getElementById('address').textContent = body.address;
}).catch(() => {});
document.getElementById('check-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const results = document.getElementById('results');
  const button = document.getElementById('check');
  results.replaceChildren(element('p', 'detail', 'Checking…'));
  button.disabled = true;
  try {
    const response = await fetch('/v1/check', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ports: document.getElementById('port').value }),
    });
    const body = await response.json();
    results.replaceChildren();
    if (!response.ok) {
      const box = element('div', 'result Error');
      box.append(element('div', 'verdict', 'Error'), element('p', '', body.error ? body.error.message : 'The checker refused the request.'));
      if (body.error && body.error.hint) box.append(element('p', 'detail', body.error.hint));
      results.append(box);
      return;
    }
    for (const result of body.results) {
      const meaning = explain(result.state, result.verified);
      const box = element('div', 'result ' + meaning.outcome);
      box.dataset.port = result.port + '/' + result.protocol;
      box.dataset.state = result.state;
      box.dataset.reason = result.reason;
      box.dataset.verified = String(result.verified);
      box.append(element('div', 'verdict', meaning.outcome));
      box.append(element('p', '', 'Port ' + result.port + ' (' + (PROTOCOLS[result.protocol] || result.protocol) + ') at your internet address ' + body.target + ': ' + meaning.meaning));
      const seen = REASON_WORDS[result.reason] || result.reason;
      box.append(element('p', 'detail', 'What the checker saw: ' + seen + ', after ' + Math.round(result.ms) + ' ms.'));
      if (meaning.outcome === 'Error') {
        box.append(element('p', '', 'If you expected Success, one of these is the cause:'));
        const list = element('ol');
        for (const cause of FOUR_CAUSES) list.append(element('li', '', cause));
        box.append(list);
      }
      results.append(box);
    }
  } catch (error) {
    results.replaceChildren(element('div', 'result Error', 'Error: this page could not reach its server. Check your internet connection and try again.'));
  } finally {
    button.disabled = false;
  }
});
`;
}
