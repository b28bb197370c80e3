/**
 * The local page's script, served as a file (/assets/ui.js) so the page runs under a CSP without
 * inline script. No framework: it listens to the page's event stream (/api/events), draws each hop
 * of the checklist as the run checks it, and words the outcomes. Everything the server sends is
 * put in as text (textContent, append of strings), never parsed as markup.
 *
 * The hops' titles and sentences come from src/doctor/hops.ts, put into the script once when it
 * is built; the verdicts' words are the findings' own, as the server sends them.
 */
import { HOPS } from '../doctor/index.js';

// Plain JavaScript for every current browser, written without template literals so it can sit in
// this one (String.raw keeps its backslashes as written).
const SCRIPT = String.raw`'use strict';
(() => {
  const HOPS = __HOPS__;
  const HOP = {};
  for (const hop of HOPS) HOP[hop.hop] = hop;
  const MARK = { ok: '\u2714', warn: '!', fail: '\u2716', skip: '\u2013', checking: '\u2026', checked: '\u2026' };
  const WORD = { ok: 'Works', warn: 'Check this', fail: 'Problem', skip: 'Not checked', checking: 'Checking', checked: 'Checked' };
  const RANK = { fail: 4, warn: 3, ok: 2, skip: 1 };
  const ROADS = {
    direct: 'a port forward on your router',
    ipv6: "an opening in your router's IPv6 firewall (users connect over IPv6)",
    relay: 'your relay (users connect to the relay, which passes their connections to this computer)',
    'double-nat': 'port forwards on both of your routers',
  };
  const FIX_ACTION = {
    'host-firewall': 'firewall',
    'no-mapping': 'expose',
    'mapping-wrong-port': 'expose',
    'mapping-lost': 'keep',
    cgnat: 'expose',
    'double-nat': 'expose',
    'router-refuses-mapping': 'expose',
  };
  const ACTION_LABEL = {
    expose: 'Make it reachable',
    keep: 'Keep it open',
    firewall: 'Open the host firewall',
  };
  const FOREGROUND = ['check', 'expose', 'firewall', 'remove'];
  const TICK = '\x60';

  const byId = (id) => document.getElementById(id);
  const running = new Map();
  let view = 0;
  let stopped = false;
  let stream;

  /** An element with attributes (text: its text) and children (strings become text). */
  function node(tag, props, children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') element.textContent = value;
      else if (key === 'class') element.className = value;
      else element.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children || []) if (child !== undefined && child !== null) element.append(child);
    return element;
  }

  /** Text whose parts between backticks (porthole commands) are shown as code. */
  function withCode(text) {
    const fragment = document.createDocumentFragment();
    String(text)
      .split(TICK)
      .forEach((part, index) => {
        if (part !== '') fragment.append(index % 2 === 1 ? node('code', { text: part }) : part);
      });
    return fragment;
  }

  async function api(path, body) {
    const init =
      body === undefined
        ? { headers: { accept: 'application/json' } }
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(body),
          };
    const response = await fetch(path, init);
    let json = {};
    try {
      json = await response.json();
    } catch {
      json = {};
    }
    if (!response.ok) throw json.error || { code: 'E_HTTP', message: 'The page answered ' + response.status, hint: '' };
    return json;
  }

  function say(text) {
    byId('progress').textContent = text;
  }

  function announce(text) {
    const region = byId('announce');
    region.textContent = '';
    setTimeout(() => {
      region.textContent = text;
    }, 50);
  }

  function isRunning(kinds) {
    for (const job of running.values()) if (kinds.includes(job)) return true;
    return false;
  }

  /** Buttons say when they cannot be used now (aria-disabled keeps them focusable for keyboard users). */
  function updateButtons() {
    const foreground = isRunning(FOREGROUND);
    const keeping = isRunning(['keep']);
    const off = {
      check: foreground,
      expose: foreground || keeping,
      keep: keeping || isRunning(['expose', 'remove']),
      firewall: foreground,
      remove: foreground,
      'save-settings': false,
      stop: false,
    };
    for (const [id, disabled] of Object.entries(off)) {
      const button = byId(id);
      if (button) button.setAttribute('aria-disabled', String(stopped || disabled));
    }
    for (const button of document.querySelectorAll('.fix-action')) button.setAttribute('aria-disabled', String(stopped || foreground));
    byId('keep-stop').hidden = !keeping || stopped;
  }

  function usable(button) {
    return button.getAttribute('aria-disabled') !== 'true';
  }

  // The source: ports or a ports table.

  function source() {
    return byId('source').value.trim();
  }

  function sourceError(text) {
    const input = byId('source');
    const error = byId('source-error');
    if (!text) {
      error.hidden = true;
      error.textContent = '';
      input.removeAttribute('aria-invalid');
      return;
    }
    error.textContent = text;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }

  function needSource() {
    const value = source();
    if (value === '') {
      sourceError('Enter a port number (for example 7001), or pick an application.');
      return undefined;
    }
    return value;
  }

  const DIRECTION = {
    inbound: 'in from outside',
    outbound: 'out to the internet',
    multicast: 'announcements on your network',
  };

  function showTable(table) {
    const box = byId('table');
    box.textContent = '';
    if (!table || table.rows.length === 0) {
      box.hidden = true;
      return;
    }
    box.append(node('p', { text: '\u201c' + table.name + '\u201d: porthole checks the ports marked \u201creachable from the internet\u201d, and the others it can.' }));
    const list = node('ul');
    for (const row of table.rows) {
      const words = row.name + ': ' + (DIRECTION[row.direction] || row.direction) + ', ' + row.ports + (row.expose ? ' (reachable from the internet)' : '') + (row.description ? ' \u2014 ' + row.description : '');
      list.append(node('li', { text: words }));
    }
    box.append(list);
    box.hidden = false;
  }

  async function start(job, body) {
    sourceError('');
    try {
      const answer = await api('/api/' + job, body);
      if (answer.table && body && !/^[0-9][0-9a-z,\s/+-]*$/i.test(body.source)) showTable(answer.table);
    } catch (error) {
      if (error.code === 'E_PORT_SPEC' || /^E_MANIFEST/.test(error.code || '')) sourceError(error.message);
      else outcome(errorBox(job, error));
    }
  }

  // The checklist.

  function orderOf(hop) {
    const index = HOPS.findIndex((h) => h.hop === hop);
    return index < 0 ? HOPS.length : index;
  }

  function hopRow(name) {
    const list = byId('hops');
    for (const row of list.children) if (row.dataset.hop === name) return row;
    const hop = HOP[name] || { hop: name, title: name, plain: '' };
    const row = node('li', { class: 'hop', 'data-hop': name, 'data-status': 'checking' }, [
      node('div', { class: 'hop-head' }, [
        node('span', { class: 'mark', 'aria-hidden': 'true', text: MARK.checking }),
        node('h3', { text: hop.title }),
        node('span', { class: 'state', text: WORD.checking }),
      ]),
      hop.plain ? node('p', { class: 'plain', text: hop.plain }) : undefined,
      node('div', { class: 'findings' }),
    ]);
    const after = Array.from(list.children).find((other) => orderOf(other.dataset.hop) > orderOf(name));
    list.insertBefore(row, after || null);
    return row;
  }

  function setStatus(row, status, note) {
    row.dataset.status = status;
    row.querySelector('.mark').textContent = MARK[status];
    row.querySelector('.state').textContent = WORD[status] + (status === 'checking' ? '\u2026' : '');
    if (note !== undefined) {
      const findings = row.querySelector('.findings');
      findings.textContent = '';
      if (note) findings.append(node('p', { class: 'note', text: note }));
    }
  }

  /** Empties the checklist for run id (its number stays on the list and the verdict: tests wait on it). */
  function resetChecklist(id) {
    byId('hops').textContent = '';
    byId('hops').dataset.run = String(id);
    const verdict = byId('verdict');
    verdict.hidden = true;
    verdict.textContent = '';
  }

  function onStep(event, hops) {
    for (const name of hops || []) {
      const row = hopRow(name);
      if (event.state === 'started') setStatus(row, 'checking', 'Checking ' + event.label + '\u2026');
      else if (event.state === 'skipped') setStatus(row, 'skip', 'Not checked: ' + event.label + '.');
      else setStatus(row, 'checked', 'Checked ' + event.label + (event.ms !== undefined ? ' in ' + Math.round(event.ms) + ' ms' : '') + '.');
    }
    if (event.state === 'started') say('Checking ' + event.label + '\u2026');
  }

  function fixButton(finding) {
    const action = FIX_ACTION[finding.cause];
    if (!action || !/^(firewall|mapping|nat)/.test(finding.id)) return undefined;
    const button = node('button', { type: 'button', class: 'fix-action secondary', 'aria-describedby': action + '-what', text: ACTION_LABEL[action] });
    button.addEventListener('click', () => {
      if (usable(button)) act(action);
    });
    return node('p', {}, [button]);
  }

  function findingView(finding, several) {
    const item = node('div', { class: 'finding', 'data-status': finding.status, 'data-id': finding.id });
    const summary = node('p', { class: 'summary' });
    if (several) summary.append(node('strong', { text: MARK[finding.status] + ' ' + WORD[finding.status] + ': ' }));
    summary.append(withCode(finding.summary));
    item.append(summary);
    if (finding.changed) item.append(node('p', { class: 'changed', text: 'porthole had to change something to find this out: ' + finding.changed + '.' }));
    if (finding.fix && (finding.status === 'fail' || finding.status === 'warn')) {
      item.append(node('p', { class: 'fix' }, [node('strong', { text: 'How to fix: ' }), withCode(finding.fix)]));
      const action = fixButton(finding);
      if (action) item.append(action);
    }
    const evidence = node('ul');
    for (const line of finding.evidence) evidence.append(node('li', { text: line }));
    evidence.append(node('li', { text: 'Check ' + finding.id + ', ' + finding.ms + ' ms.' }));
    item.append(node('details', {}, [node('summary', { text: 'Details: what porthole saw' + (finding.subject ? ' (' + finding.subject + ')' : '') }), evidence]));
    return item;
  }

  function showFinding(finding) {
    const row = hopRow(finding.hop);
    const box = row.querySelector('.findings');
    if (row.dataset.early !== 'yes') {
      box.textContent = '';
      row.dataset.early = 'yes';
    }
    for (const old of Array.from(box.children)) if (old.dataset && old.dataset.id === finding.id) old.remove();
    box.append(findingView(finding, box.children.length > 0));
    const shown = Array.from(box.children).map((item) => item.dataset.status);
    const worst = shown.reduce((a, s) => (RANK[s] > RANK[a] ? s : a), 'skip');
    row.dataset.status = worst;
    row.querySelector('.mark').textContent = MARK[worst];
    row.querySelector('.state').textContent = WORD[worst];
    say((HOP[finding.hop] || { title: finding.hop }).title + ': ' + WORD[finding.status] + '.');
  }

  function renderReport(report) {
    for (const row of Array.from(byId('hops').children)) delete row.dataset.early;
    const groups = new Map();
    for (const finding of report.findings) {
      if (!groups.has(finding.hop)) groups.set(finding.hop, []);
      groups.get(finding.hop).push(finding);
    }
    for (const row of Array.from(byId('hops').children)) if (!groups.has(row.dataset.hop)) row.remove();
    for (const [hop, findings] of groups) {
      const row = hopRow(hop);
      const worst = findings.reduce((a, f) => (RANK[f.status] > RANK[a] ? f.status : a), 'skip');
      setStatus(row, worst, '');
      const box = row.querySelector('.findings');
      for (const finding of findings) box.append(findingView(finding, findings.length > 1));
    }
    const verdict = byId('verdict');
    verdict.textContent = '';
    const failing = report.findings.filter((f) => f.status === 'fail');
    const outside = report.findings.filter((f) => f.hop === 'outside-in');
    let status;
    let words;
    if (report.reachable) {
      status = 'ok';
      words = MARK.ok + ' Reachable from the internet' + (report.publicAddress ? ' at ' + report.publicAddress : '') + ', proven.';
    } else if (failing.length > 0) {
      const titles = [...new Set(failing.map((f) => (HOP[f.hop] || { title: f.hop }).title))];
      status = 'fail';
      words = MARK.fail + ' Not reachable yet. Problem: ' + titles.join(', ') + '. Each says how to fix it.';
    } else if (outside.length > 0 && outside.every((f) => f.status === 'skip')) {
      status = 'warn';
      words = '! Not checked from outside: set a check service under Settings, then check again.';
    } else {
      status = 'warn';
      words = '! Open from the internet, but not proven to reach this computer.';
    }
    verdict.dataset.status = status;
    verdict.dataset.run = String(view);
    verdict.append(words);
    for (const change of report.changes || [])
      verdict.append(node('span', { class: 'changed', text: ' porthole changed on the ' + change.on + ': ' + change.what + ' (' + change.why + ').' }));
    verdict.hidden = false;
    const problems = failing.length;
    say('Done: ' + (report.reachable ? 'reachable.' : problems + (problems === 1 ? ' problem.' : ' problems.')) + ' ' + words.slice(2));
  }

  // Outcomes of the buttons.

  function outcome(element) {
    const box = byId('outcome');
    box.textContent = '';
    if (element) box.append(element);
  }

  function resultBox(status, title, children) {
    return node('div', { class: 'result', 'data-status': status }, [node('p', {}, [node('strong', { text: title })]), ...(children || [])]);
  }

  function errorBox(job, error) {
    const titles = {
      check: 'The check could not run',
      expose: 'It could not be made reachable',
      keep: 'It could not be kept open',
      firewall: "The host firewall could not be opened",
      remove: 'Not everything could be removed',
      settings: 'The settings were not saved',
      stop: 'The page could not be stopped',
    };
    return resultBox('fail', MARK.fail + ' ' + (titles[job] || 'That did not work') + ': ' + (error.message || error.code), [
      error.hint ? node('p', {}, [withCode(error.hint)]) : undefined,
    ]);
  }

  async function copy(text) {
    let done = false;
    try {
      await navigator.clipboard.writeText(text);
      done = true;
    } catch {
      const area = node('textarea', { class: 'visually-hidden', 'aria-hidden': 'true', readonly: true });
      area.value = text;
      document.body.append(area);
      area.select();
      try {
        done = document.execCommand('copy');
      } catch {
        done = false;
      }
      area.remove();
    }
    announce(done ? 'Copied.' : 'Could not copy: select the text and copy it yourself.');
  }

  function copyButton(label, text) {
    const button = node('button', { type: 'button', class: 'secondary copy', text: label });
    button.addEventListener('click', () => copy(text));
    return button;
  }

  function giveRow(give) {
    const text = give.join(', ');
    return node('div', { class: 'give' }, [node('span', { text: 'Give your users:' }), node('code', { class: 'address', text }), copyButton('Copy the address', text)]);
  }

  function exposeBox(result) {
    const children = [];
    if (result.give.length > 0) children.push(giveRow(result.give));
    children.push(node('p', { text: 'The way porthole took: ' + (ROADS[result.road] || result.road) + '.' }));
    for (const tried of result.tried) children.push(node('p', { text: 'Tried first, ' + (ROADS[tried.road] || tried.road) + ': ' + tried.because + '.' }));
    for (const note of result.notes) children.push(node('p', {}, [withCode(note)]));
    for (const mapping of result.mappings) children.push(node('p', { class: 'mono', text: 'Made: ' + mapping }));
    for (const change of result.portChanges) children.push(node('p', { text: 'The router gave external port ' + change.got + ' instead of ' + change.asked + ' (' + change.protocol + '): give your users the address above.' }));
    for (const left of result.leftBehind) children.push(node('p', { text: 'Could not remove ' + left.what + ': ' + left.why }));
    return resultBox(
      result.reachable ? 'ok' : 'warn',
      result.reachable ? MARK.ok + ' Reachable from the internet, proven.' : '! porthole made the changes, but could not prove the port is reachable: the checklist says which step fails.',
      children,
    );
  }

  function firewallBox(result) {
    const rules = node('ul');
    for (const rule of result.rules) rules.append(node('li', { class: 'mono', text: rule }));
    return resultBox('ok', MARK.ok + " This computer's firewall now lets connections in (" + result.firewall + ').', [rules, node('p', { text: 'It stays until you remove it (Remove what porthole made).' })]);
  }

  function permissionBox(error) {
    const commands = Array.isArray(error.commands) ? error.commands : [];
    if (commands.length === 0) return errorBox('firewall', error);
    const text = commands.join('\n');
    return resultBox('fail', MARK.fail + " porthole is not allowed to change this computer's firewall.", [
      node('p', { text: 'Run these lines in a terminal as administrator (on Windows: PowerShell, Run as administrator; elsewhere: as root), then check again:' }),
      node('pre', { class: 'commands', text }),
      copyButton('Copy the lines', text),
    ]);
  }

  function removeBox(result) {
    const children = [];
    if (result.removed.length > 0) {
      const list = node('ul');
      for (const what of result.removed) list.append(node('li', { text: what }));
      children.push(node('p', { text: 'Removed:' }), list);
    }
    if (result.failed.length > 0) {
      const list = node('ul');
      for (const item of result.failed) list.append(node('li', { text: item.what + ': ' + item.error.message }));
      children.push(node('p', { text: 'Could not remove (porthole tries again next time):' }), list);
    }
    for (const text of result.skipped) children.push(node('p', { text: 'Not checked: ' + text + '.' }));
    const nothing = result.removed.length === 0 && result.failed.length === 0;
    return resultBox(result.failed.length > 0 ? 'warn' : 'ok', nothing ? MARK.ok + ' Nothing was left to remove.' : result.failed.length > 0 ? '! Some things could not be removed.' : MARK.ok + ' Removed what porthole made.', children);
  }

  function mappingText(mapping) {
    return mapping ? (mapping.externalIp || mapping.gateway) + ':' + mapping.externalPort + ' to ' + mapping.internalAddress + ':' + mapping.internalPort : '';
  }

  function keptWords(event) {
    switch (event.kind) {
      case 'verified':
        return event.reachable
          ? 'Checked from outside: reachable.'
          : 'Checked from outside: not reachable' + (event.failing && event.failing.length ? ' (' + event.failing.join(', ') + ')' : '') + '; porthole keeps trying.';
      case 'renewed':
        return 'The router renewed the forward (' + mappingText(event.mapping) + ').';
      case 'router-restarted':
        return 'The router restarted and forgot the forward; porthole made it again.';
      case 'remade':
        return 'The forward was made again: ' + event.evidence + '.';
      case 'renew-failed':
        return 'Renewing the forward failed (' + event.error + '); porthole tries again shortly.';
      case 'removed':
        return 'Removed the forward ' + mappingText(event.mapping) + '.';
      case 'remove-failed':
        return 'Could not remove the forward: ' + event.error + '.';
      case 'address-changed':
        return 'Your public address changed from ' + (event.from || 'unknown') + ' to ' + event.to + '.';
      case 'relay':
        return event.reachable ? 'Reachable through the relay.' : 'Not reachable through the relay: ' + event.because + '.';
      case 'relay-connected':
        return 'Connected to the relay: users connect to ' + event.publicAddress + '.';
      case 'relay-disconnected':
        return 'Lost the relay (' + event.reason + '); trying again in ' + Math.round(event.retryInMs / 1000) + ' s.';
      case 'name':
        return event.error ? 'The name ' + event.name + ' could not be updated: ' + event.error + '.' : 'The name ' + event.name + ' follows your address (' + event.updates + ' updates).';
      default:
        return event.kind;
    }
  }

  function keptStatus(text, kind) {
    const list = byId('kept-status');
    const time = new Date().toLocaleTimeString();
    list.append(node('li', { 'data-kind': kind, text: time + ': ' + text }));
    while (list.children.length > 20) list.firstElementChild.remove();
  }

  // Events from the page's runs.

  const STARTED = {
    check: (s) => 'Checking ' + s + '\u2026',
    expose: (s) => 'Making ' + s + ' reachable\u2026',
    keep: (s) => 'Making ' + s + ' reachable, to keep it open\u2026',
    firewall: () => 'Opening the host firewall\u2026',
    remove: () => 'Removing what porthole made\u2026',
  };

  function onJob(event) {
    if (event.state === 'started') {
      running.set(event.id, event.job);
      if (event.job === 'check' || event.job === 'expose' || event.job === 'keep') {
        view = event.id;
        resetChecklist(event.id);
      }
      if (event.job !== 'check') outcome(undefined);
      if (event.job === 'keep') {
        byId('kept').hidden = false;
        byId('kept-give').textContent = '';
        byId('kept-status').textContent = '';
        keptStatus('Started: making it reachable.', 'started');
      }
      say(STARTED[event.job](event.source));
      updateButtons();
      return;
    }
    running.delete(event.id);
    updateButtons();
    if (event.state === 'failed') {
      const error = event.error;
      if (event.job === 'keep' && error.code === 'E_ABORTED') {
        keptStatus('Stopped keeping it open.', 'stopped');
        say('Stopped keeping it open.');
        return;
      }
      if (event.id === view) say(errorBox(event.job, error).textContent);
      if (event.job === 'keep') keptStatus('Stopped: ' + error.message, 'failed');
      outcome(event.job === 'firewall' && error.code === 'E_PERMISSION' ? permissionBox(error) : errorBox(event.job, error));
      return;
    }
    const result = event.result;
    if ((event.job === 'check' || event.job === 'expose' || event.job === 'keep') && event.id === view) renderReport(result);
    if (event.job === 'expose') outcome(exposeBox(result));
    if (event.job === 'keep') {
      keptStatus('Stopped keeping it open' + (result.leftBehind.length === 0 ? ': what it made was removed.' : '; some things could not be removed.'), 'stopped');
      byId('kept-give').textContent = '';
    }
    if (event.job === 'firewall') {
      outcome(firewallBox(result));
      say("The host firewall is open for the port. Check again to see it.");
    }
    if (event.job === 'remove') {
      outcome(removeBox(result));
      say(
        result.failed.length > 0
          ? 'Some things could not be removed; porthole tries again next time.'
          : result.removed.length === 0
            ? 'Nothing was left to remove.'
            : 'Removed what porthole made.',
      );
    }
  }

  function onProgress(message) {
    const event = message.event;
    if (event.kind === 'step') {
      if (message.id === view) onStep(event, message.hops);
      return;
    }
    if (event.kind === 'road') {
      const road = ROADS[event.road] || event.road;
      if (event.state === 'trying') say('Trying ' + road + '\u2026');
      else if (event.state === 'taken') say('Taking ' + road + '; checking it from outside\u2026');
      else if (event.because) say('Not ' + road + ': ' + event.because + '.');
      return;
    }
    if (event.kind === 'finding') {
      // A hop whose verdict is known before the run ends (the listener, the firewall, the router,
      // the NAT) shows it at once; the report at the end draws the whole checklist again.
      if (message.id === view) showFinding(event.finding);
      return;
    }
    if (event.kind === 'change') return;
    if (message.job !== 'keep') return;
    keptStatus(keptWords(event), event.kind);
    // A kept road's checklist gets its verdicts only when keeping stops; its checks from outside say the rest.
    if (event.kind === 'verified' && message.id === view) {
      const verdict = byId('verdict');
      verdict.textContent = event.reachable
        ? MARK.ok + ' Reachable from the internet' + (event.publicAddress ? ' at ' + event.publicAddress : '') + ', proven; porthole keeps it so. Check shows each step.'
        : MARK.fail + ' Not reachable from outside right now' + (event.failing && event.failing.length ? ' (' + event.failing.join(', ') + ')' : '') + '. Check shows which step fails.';
      verdict.dataset.status = event.reachable ? 'ok' : 'fail';
      verdict.hidden = false;
    }
    if (event.give && event.give.length > 0) {
      const give = byId('kept-give');
      give.textContent = '';
      give.append(giveRow(event.give));
    }
  }

  function onStopped() {
    if (stopped) return;
    stopped = true;
    if (stream) stream.close();
    byId('stopped').textContent = 'porthole ui has stopped; whatever it kept open was undone. You can close this tab.';
    say('Stopped.');
    updateButtons();
  }

  function handle(message) {
    if (message.type === 'snapshot') {
      for (const event of message.replay) handle(event);
      return;
    }
    if (message.type === 'stopping') onStopped();
    else if (message.type === 'job') onJob(message);
    else if (message.type === 'progress') onProgress(message);
  }

  // Settings.

  const FIELDS = { checker: 'set-checker', relay: 'set-relay', name: 'set-name' };
  const FIELD_OF_ERROR = { E_CHECKER_URL: 'checker', E_RELAY_URL: 'relay', E_DNS_NAME: 'name' };

  function showSettings(settings) {
    for (const [field, id] of Object.entries(FIELDS)) {
      const value = settings.values[field];
      const input = byId(id);
      input.value = value.fromEnvironment ? '' : value.value;
      input.removeAttribute('aria-invalid');
      const from = byId(id + '-from');
      if (value.fromEnvironment)
        from.textContent = 'Set by the environment variable ' + value.from.replace(/^env /, '') + ' to ' + value.value + ': that value applies while it is set, whatever is saved here.';
      else if (value.from === 'unset') from.textContent = 'Not set.';
      else from.textContent = 'Saved in ' + value.from + '.';
    }
    byId('settings-file').textContent = settings.file ? 'Settings are saved in ' + settings.file + ', where the porthole commands read them too.' : 'This computer has no place to save settings (no home folder).';
  }

  async function loadSettings() {
    try {
      showSettings(await api('/api/settings'));
    } catch (error) {
      byId('settings-status').textContent = 'The settings could not be read: ' + error.message;
    }
  }

  async function saveSettings(event) {
    event.preventDefault();
    const body = {};
    for (const [field, id] of Object.entries(FIELDS)) body[field] = byId(id).value;
    const status = byId('settings-status');
    try {
      showSettings(await api('/api/settings', body));
      status.textContent = 'Saved.';
    } catch (error) {
      status.textContent = 'Not saved: ' + (error.message || error.code) + (error.hint ? ' ' + error.hint : '');
      const field = FIELD_OF_ERROR[error.code];
      if (field) {
        const input = byId(FIELDS[field]);
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    }
  }

  // Examples.

  async function loadExamples() {
    try {
      const answer = await api('/api/examples');
      const select = byId('example');
      for (const example of answer.examples)
        select.append(node('option', { value: example.path, text: example.name + (example.description ? ' \u2014 ' + example.description : '') }));
    } catch {
      // No examples: the list stays at None.
    }
  }

  async function pickExample() {
    const path = byId('example').value;
    if (!path) return;
    byId('source').value = path;
    sourceError('');
    try {
      showTable((await api('/api/table?source=' + encodeURIComponent(path))).table);
    } catch (error) {
      sourceError(error.message);
    }
  }

  // The buttons.

  function act(action) {
    if (stopped) return;
    if (action === 'remove') {
      start('remove', {});
      return;
    }
    const value = needSource();
    if (value) start(action, { source: value });
  }

  function bind(id, handler) {
    const button = byId(id);
    button.addEventListener('click', () => {
      if (usable(button)) handler();
    });
  }

  byId('check-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!usable(byId('check')) || stopped) return;
    const value = needSource();
    if (value) start('check', { source: value });
  });
  bind('expose', () => act('expose'));
  bind('keep', () => act('keep'));
  bind('firewall', () => act('firewall'));
  bind('remove', () => act('remove'));
  bind('keep-stop', () => {
    api('/api/keep/stop', {}).catch((error) => outcome(errorBox('keep', error)));
    say('Stopping: removing what was kept open\u2026');
  });
  bind('stop', async () => {
    try {
      await api('/api/stop', {});
      onStopped();
    } catch (error) {
      outcome(errorBox('stop', error));
    }
  });
  byId('settings-form').addEventListener('submit', saveSettings);
  byId('example').addEventListener('change', pickExample);

  // The key came in the address (?token=); it now lives in the cookie, and leaves the address bar.
  if (location.search !== '') history.replaceState(null, '', '/');
  stream = new EventSource('/api/events');
  stream.onmessage = (message) => handle(JSON.parse(message.data));
  stream.onerror = () => {
    if (stopped) stream.close();
  };
  updateButtons();
  loadSettings();
  loadExamples();
})();
`;

/** The script, with the hops' titles and sentences put in. */
export function uiScript(): string {
  const hops = HOPS.map(({ hop, title, plain }) => ({ hop, title, plain }));
  // JSON in a script: `<` escaped so no text can end the script early if it were ever inlined.
  return SCRIPT.replace('__HOPS__', JSON.stringify(hops).replace(/</g, '\\u003c'));
}
