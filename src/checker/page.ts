/**
 * The web page of seed 000's checker: "Port to check", "Check port", then Success or Error
 * for the visitor's own address, with what the verdict means. No external assets; the script
 * is served from the same origin so the page runs under a strict Content-Security-Policy.
 *
 * With the service's single-family URLs configured (pageFamilies.ts) the page asks both and
 * shows one section per family: the visitor's address on it and each port's verdict, or a
 * plain sentence when this browser cannot reach that family at all. Without them, or when the
 * page is opened at an origin the service does not list, it checks the family the browser used
 * and says the other was not checked, and why.
 */
import { EXPLANATIONS, FOUR_CAUSES, REASON_WORDS } from '../probe/index.js';
import type { PageFamilies } from './pageFamilies.js';

/** The Content-Security-Policy for the pages: nothing from anywhere else. */
export const PAGE_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The check page's CSP: with families, fetches may also go to exactly the two single-family
 * URLs ('self' stays for the page opened at an origin the service does not list).
 */
export function checkPageCsp(families?: PageFamilies): string {
  if (!families) return PAGE_CSP;
  return `default-src 'self'; connect-src 'self' ${families.ipv4} ${families.ipv6}; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
}

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
  .Unproven { background: #fef7e0; border: 1px solid #f9ab00; }
  .verdict { font-size: 1.25rem; font-weight: 700; }
  .detail { color: #444; font-size: .9rem; }
  .family { margin-top: 1.5rem; }
  .family h2 { font-size: 1.2rem; margin-bottom: .25rem; }
  .unreached { color: #444; }
</style>
</head>
<body>
<h1>Is my port open from the internet?</h1>
<p id="intro">This page asks a server on the internet to connect to your internet address, <strong id="address">…</strong>,
on the port you name, the way a friend or a customer would from outside. Success means they can reach it.</p>
<form id="check-form">
  <label>Port to check <input id="port" name="port" inputmode="numeric" placeholder="7001 or 5353/udp" required></label>
  <button id="check" type="submit">Check port</button>
</form>
<p id="families-note" class="detail"></p>
<div id="results" aria-live="polite"></div>
<section id="family-ipv4" class="family" data-family="ipv4" hidden><h2>IPv4</h2>
<p>Your IPv4 address: <strong class="family-address">…</strong></p><div class="family-results" aria-live="polite"></div></section>
<section id="family-ipv6" class="family" data-family="ipv6" hidden><h2>IPv6</h2>
<p>Your IPv6 address: <strong class="family-address">…</strong></p><div class="family-results" aria-live="polite"></div></section>
<script src="/assets/check.js"></script>
</body>
</html>
`;
}

/**
 * The page's script, with the plain words of explain.ts built in. Each result box keeps the
 * machine-readable verdict in `data-state`, `data-reason` and `data-verified`; each family's
 * section keeps whether it was reached in `data-reached` (`yes`, `no`, `wrong-family`).
 */
export function checkPageScript(families?: PageFamilies): string {
  const config = families ? { ipv4: families.ipv4, ipv6: families.ipv6, origins: families.origins } : null;
  return `'use strict';
const EXPLANATIONS = ${JSON.stringify(EXPLANATIONS)};
const FOUR_CAUSES = ${JSON.stringify(FOUR_CAUSES)};
const REASON_WORDS = ${JSON.stringify(REASON_WORDS)};
const FAMILIES = ${JSON.stringify(config)};
const PROTOCOLS = { tcp: 'TCP', udp: 'UDP' };
const NAMES = { 4: 'IPv4', 6: 'IPv6' };
// A family that cannot be reached fails at once (no route, no name) or stays silent (a dropped
// connection); past these deadlines it counts as not reachable from here.
const IP_TIMEOUT_MS = 5000;
const CHECK_TIMEOUT_MS = 60000;
const UNREACHED = {
  ipv4: 'No IPv4 here: this browser could not reach our server over IPv4, so this network (or this computer) has no working IPv4 connection to the internet. This is common on IPv6-only mobile networks; IPv4 was not checked.',
  ipv6: 'No IPv6 here: this browser could not reach our server over IPv6, so this network (or this computer) has no working IPv6 connection to the internet. Many networks have none yet; IPv6 was not checked.',
};
const WRONG_FAMILY = {
  ipv4: "This service's IPv4 address answered over IPv6, so IPv4 could not be checked: the service is set up wrongly (its IPv4-only name must have no IPv6 address).",
  ipv6: "This service's IPv6 address answered over IPv4, so IPv6 could not be checked: the service is set up wrongly (its IPv6-only name must have no IPv4 address).",
};
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
/** Result boxes for one answer of POST /v1/check; where names the address ("your internet address"). */
function showAnswer(results, response, body, where) {
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
    box.append(element('p', '', 'Port ' + result.port + ' (' + (PROTOCOLS[result.protocol] || result.protocol) + ') at ' + where + ' ' + body.target + ': ' + meaning.meaning));
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
}
function postCheck(base, ports) {
  return fetch(base + 'v1/check', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ports }),
    signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
  });
}
const form = document.getElementById('check-form');
const button = document.getElementById('check');
const note = document.getElementById('families-note');
const both = FAMILIES !== null && FAMILIES.origins.includes(location.origin);

if (!both) {
  // One family: the one this browser used to reach the page.
  fetch('/v1/ip').then((response) => response.json()).then((body) => {
    document.getElementById('address').textContent = body.address;
    const used = NAMES[body.family] || 'one family';
    const other = body.family === 6 ? 'IPv4' : 'IPv6';
    note.dataset.family = String(body.family);
    note.textContent = FAMILIES === null
      ? 'This page checks over ' + used + ' only, the way your browser reached it. ' + other + ' is not checked: this service has no address set up that reaches it over ' + other + ' only.'
      : 'This page checks over ' + used + ' only, the way your browser reached it. ' + other + ' is not checked: the page was opened at an address the service does not list; to check both, open ' + FAMILIES.origins[0] + '/';
  }).catch(() => {});
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const results = document.getElementById('results');
    results.replaceChildren(element('p', 'detail', 'Checking…'));
    button.disabled = true;
    try {
      const response = await postCheck('/', document.getElementById('port').value);
      showAnswer(results, response, await response.json(), 'your internet address');
    } catch (error) {
      results.replaceChildren(element('div', 'result Error', 'Error: this page could not reach its server. Check your internet connection and try again.'));
    } finally {
      button.disabled = false;
    }
  });
} else {
  // Both families, each through the service's URL that reaches it over that family only.
  document.getElementById('intro').textContent = 'This page asks a server on the internet to connect to your internet addresses, over IPv4 and over IPv6, on the port you name, the way a friend or a customer would from outside. Success means they can reach it.';
  const sections = ['ipv4', 'ipv6'].map((key) => {
    const node = document.getElementById('family-' + key);
    node.hidden = false;
    return { key, want: key === 'ipv4' ? 4 : 6, base: FAMILIES[key], node, address: node.querySelector('.family-address'), results: node.querySelector('.family-results'), reach: undefined };
  });
  /** Whether this browser reaches the service over the section's family: 'yes', 'no' or 'wrong-family'. */
  async function reach(section) {
    try {
      const response = await fetch(section.base + 'v1/ip', { cache: 'no-store', signal: AbortSignal.timeout(IP_TIMEOUT_MS) });
      const body = await response.json();
      if (body.family !== section.want) return { state: 'wrong-family', address: body.address };
      return { state: 'yes', address: body.address };
    } catch {
      return { state: 'no' };
    }
  }
  function showReach(section, seen) {
    section.node.dataset.reached = seen.state;
    if (seen.state === 'yes') {
      section.address.textContent = seen.address;
      section.node.dataset.address = seen.address;
      return;
    }
    section.address.textContent = 'none';
    section.results.replaceChildren(element('p', 'unreached', seen.state === 'no' ? UNREACHED[section.key] : WRONG_FAMILY[section.key]));
  }
  for (const section of sections) {
    section.reach = reach(section).then((seen) => { showReach(section, seen); return seen; });
  }
  Promise.all(sections.map((section) => section.reach)).then(() => { document.body.dataset.reached = 'true'; });
  async function checkFamily(section, ports) {
    let seen = await section.reach;
    // Not reached before: try again, the network may have changed since the page opened.
    if (seen.state === 'no') {
      section.reach = reach(section);
      seen = await section.reach;
      showReach(section, seen);
    }
    if (seen.state !== 'yes') return;
    section.results.replaceChildren(element('p', 'detail', 'Checking…'));
    try {
      const response = await postCheck(section.base, ports);
      showAnswer(section.results, response, await response.json(), 'your ' + NAMES[section.want] + ' address');
    } catch {
      section.results.replaceChildren(element('p', 'unreached', 'The check over ' + NAMES[section.want] + ' did not come back: the connection to our server was lost. Try again.'));
    }
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    delete document.body.dataset.checked;
    button.disabled = true;
    const ports = document.getElementById('port').value;
    try {
      await Promise.all(sections.map((section) => checkFamily(section, ports)));
    } finally {
      button.disabled = false;
      document.body.dataset.checked = 'true';
    }
  });
}
`;
}
