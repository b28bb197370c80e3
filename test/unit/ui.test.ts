/**
 * The local page (`porthole ui`) without a browser: its security rules each (loopback only, the
 * Host header, the per-run key, same-origin changes, the headers and CSP), the event stream
 * carrying a run's steps (a check against the loopback fake router), settings written to the
 * configuration file, the host firewall's elevated lines when the process may not change it, and
 * "Remove what porthole made" taking away the mapping the page made.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Script } from 'node:vm';
import { findingSubject, HOPS, hopOf, hopsOfStep, type StepName } from '../../src/doctor/index.js';
import { PortholeError } from '../../src/errors/index.js';
import { currentHost, type Host } from '../../src/host/index.js';
import {
  buildUi,
  type PageEvent,
  parseUiListen,
  type RunningUi,
  startUi,
  tokenCookieName,
} from '../../src/ui/index.js';
import { runCliCaptured } from '../support/cli.js';
import { type FakeRouter, startFakeRouter } from '../support/fakeRouter.js';
import { FAKE_ROUTER_HOST, loopbackOnly } from '../support/fakeRouterClients.js';

const TOKEN = 'k'.repeat(43);
const PORT = 4567;
const HOST = `127.0.0.1:${PORT}`;
const COOKIE = `${tokenCookieName(PORT)}=${TOKEN}`;
const JSON_HEADERS = { host: HOST, cookie: COOKIE, 'content-type': 'application/json', origin: `http://${HOST}` };

describe('ui: --listen is loopback only', () => {
  it('a free port on 127.0.0.1 by default; loopback addresses and localhost are taken', () => {
    assert.deepEqual(parseUiListen(undefined), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseUiListen('127.0.0.1:8765'), { host: '127.0.0.1', port: 8765 });
    assert.deepEqual(parseUiListen('127.0.0.2:8765'), { host: '127.0.0.2', port: 8765 });
    assert.deepEqual(parseUiListen('[::1]:8765'), { host: '::1', port: 8765 });
    assert.deepEqual(parseUiListen('localhost:8765'), { host: '127.0.0.1', port: 8765 });
  });

  it('any other address is refused with E_UI_LISTEN; a malformed one with E_USAGE', () => {
    for (const text of ['0.0.0.0:8765', '192.168.1.10:8765', '[::]:8765', '203.0.113.1:80', 'example.net:8765'])
      assert.throws(() => parseUiListen(text), { code: 'E_UI_LISTEN' }, text);
    for (const text of ['8765', '127.0.0.1', '127.0.0.1:99999'])
      assert.throws(() => parseUiListen(text), { code: 'E_USAGE' }, text);
  });

  it('`porthole ui --listen 0.0.0.0:8765` exits 2 with E_UI_LISTEN before anything listens', async () => {
    const run = await runCliCaptured(['ui', '--listen', '0.0.0.0:8765', '--no-open', '--json']);
    assert.equal(run.status, 2);
    assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, 'E_UI_LISTEN');
  });
});

describe('ui: the command', () => {
  it('`porthole ui --no-open --json` says its address at once, and Ctrl-C stops it with 130', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'porthole-ui-cli-'));
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new PortholeError('E_ABORTED', { detail: 'interrupted by SIGINT' })),
      1500,
    );
    try {
      const run = await runCliCaptured(['ui', '--no-open', '--json'], {
        env: { XDG_CONFIG_HOME: folder, XDG_STATE_HOME: folder },
        signal: controller.signal,
      });
      assert.equal(run.status, 130, run.stderr);
      const [first, last] = run.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
      assert.equal(first.opened, false);
      assert.deepEqual(last, { url: new URL(first.url).origin, stopped: 'signal' });
    } finally {
      clearTimeout(timer);
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('ui: hops, defined once', () => {
  it('every finding id the doctor makes has its hop, and every step names the hops it checks', () => {
    const ids = {
      'listener:7001/tcp': 'listener',
      'firewall:7001/tcp': 'firewall',
      gateway: 'gateway',
      nat: 'nat',
      'mapping:7001/tcp': 'mapping',
      'outside-in:7001/tcp': 'outside-in',
      'hairpin:7001/tcp': 'hairpin',
      dns: 'dns',
      egress: 'egress',
      'multicast-firewall:mdns': 'multicast',
      'multicast-membership:mdns': 'multicast',
      multicast: 'multicast',
      vantages: 'vantages',
    };
    for (const [id, hop] of Object.entries(ids)) {
      assert.equal(hopOf(id).hop, hop, id);
      assert.ok(hopOf(id).title.length > 0 && hopOf(id).plain.length > 0, id);
    }
    assert.equal(findingSubject('listener:7001/tcp'), '7001/tcp');
    assert.equal(findingSubject('gateway'), undefined);
    const steps: StepName[] = [
      'host',
      'gateway',
      'mappings',
      'nat',
      'outside-in',
      'name',
      'egress',
      'multicast',
      'hairpin',
    ];
    for (const step of steps) assert.ok(hopsOfStep(step).length > 0, step);
    assert.deepEqual(
      hopsOfStep('host').map((hop) => hop.hop),
      ['listener', 'firewall'],
    );
  });

  it('the hops speak plainly: jargon only beside its explanation', () => {
    for (const hop of HOPS) {
      assert.doesNotMatch(`${hop.title} ${hop.plain}`, /syn-ack|DNAT|IGD|conntrack|--\w/, hop.hop);
      // Where a term is named, the sentence explains it in the same breath.
      if (/UPnP|NAT-PMP|PCP/.test(hop.plain)) assert.match(hop.plain, /languages routers speak/, hop.hop);
      if (/carrier-grade NAT|double NAT/.test(hop.plain)) assert.match(hop.plain, /share|second router/, hop.hop);
      if (/multicast|DNS/.test(hop.plain)) assert.match(hop.plain, /announcements|name you give/, hop.hop);
    }
  });
});

describe('ui: who may talk to the page (injected requests)', () => {
  let ui: Awaited<ReturnType<typeof buildUi>>;
  before(async () => {
    ui = await buildUi({ token: TOKEN, port: PORT, examples: null, run: { env: {} } });
  });
  after(() => ui.app.close());

  const get = (url: string, headers: Record<string, string> = {}, remoteAddress?: string) =>
    ui.app.inject({
      method: 'GET',
      url,
      headers: { host: HOST, ...headers },
      ...(remoteAddress ? { remoteAddress } : {}),
    });
  const post = (url: string, headers: Record<string, string>, body: unknown = {}) =>
    ui.app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body) });

  it('a Host other than 127.0.0.1 or localhost with the port (DNS rebinding) gets 403', async () => {
    for (const host of ['evil.example', `evil.example:${PORT}`, '127.0.0.1:80', '127.0.0.1', `192.168.1.10:${PORT}`]) {
      const answer = await get('/', { host, cookie: COOKIE });
      assert.equal(answer.statusCode, 403, host);
      const api = await get('/api/settings', { host, cookie: COOKIE });
      assert.equal(api.statusCode, 403, host);
      assert.equal(api.json().error.code, 'E_UI_FORBIDDEN');
    }
    assert.equal((await get('/', { host: `localhost:${PORT}`, cookie: COOKIE })).statusCode, 200);
    assert.equal((await get('/', { cookie: COOKIE })).statusCode, 200);
  });

  it('a request from another machine gets 403, even with the key', async () => {
    const answer = await get('/api/settings', { cookie: COOKIE }, '192.168.1.20');
    assert.equal(answer.statusCode, 403);
    assert.match(answer.json().error.message, /came from 192\.168\.1\.20/);
  });

  it('the printed URL hands over the key as an HttpOnly SameSite=Strict cookie', async () => {
    const answer = await get(`/?token=${TOKEN}`, { 'sec-fetch-site': 'none' });
    assert.equal(answer.statusCode, 200);
    assert.match(answer.body, /<h1>Make your server reachable/);
    const cookie = String(answer.headers['set-cookie']);
    assert.match(cookie, new RegExp(`^${tokenCookieName(PORT)}=${TOKEN};`));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const wrong = await get(`/?token=${'x'.repeat(43)}`);
    assert.equal(wrong.statusCode, 403);
    assert.match(wrong.body, /This page needs its key/);
    assert.equal((await get('/')).statusCode, 403, 'no key, no page');
  });

  it('a change without the key gets 403, and so does reading the API', async () => {
    const { cookie: _, ...withoutKey } = JSON_HEADERS;
    const answer = await post('/api/check', withoutKey, { source: '7001' });
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.json().error.code, 'E_UI_FORBIDDEN');
    assert.equal((await post('/api/stop', { ...withoutKey, cookie: `${COOKIE}x` })).statusCode, 403);
    assert.equal((await get('/api/settings')).statusCode, 403);
    assert.equal((await get('/api/events')).statusCode, 403);
  });

  it('a change the browser says is cross-site or same-site, or from another origin, gets 403', async () => {
    for (const site of ['cross-site', 'same-site', 'none']) {
      const answer = await post('/api/check', { ...JSON_HEADERS, 'sec-fetch-site': site }, { source: '7001' });
      assert.equal(answer.statusCode, 403, site);
      assert.match(answer.json().error.message, new RegExp(site));
    }
    for (const origin of ['http://evil.example', `http://127.0.0.1:${PORT + 1}`, 'null']) {
      const answer = await post('/api/check', { ...JSON_HEADERS, origin }, { source: '7001' });
      assert.equal(answer.statusCode, 403, origin);
    }
    const cross = await get('/api/settings', { cookie: COOKIE, 'sec-fetch-site': 'cross-site' });
    assert.equal(cross.statusCode, 403);
  });

  it('a change that is not JSON (a form a foreign page could post without asking) gets 403', async () => {
    const answer = await post('/api/stop', { ...JSON_HEADERS, 'content-type': 'text/plain' });
    assert.equal(answer.statusCode, 403);
    assert.match(answer.json().error.message, /JSON/);
  });

  it('every answer carries a strict CSP and the other security headers; the page has no inline script or style', async () => {
    for (const url of ['/', '/assets/ui.js', '/assets/ui.css', '/api/settings', '/nothing-here']) {
      const answer = await get(url, { cookie: COOKIE });
      const csp = String(answer.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/, url);
      assert.match(csp, /script-src 'self'/, url);
      assert.match(csp, /style-src 'self'/, url);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, url);
      assert.equal(answer.headers['x-frame-options'], 'DENY', url);
      assert.equal(answer.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(answer.headers['referrer-policy'], 'no-referrer', url);
    }
    const refused = await get('/', { host: 'evil.example' });
    assert.equal(refused.headers['x-frame-options'], 'DENY', 'refusals carry them too');
    const page = (await get('/', { cookie: COOKIE })).body;
    assert.doesNotMatch(page, /<script>|<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    assert.match(page, /<script src="\/assets\/ui\.js" defer><\/script>/);
    assert.match(page, /aria-live="polite"/);
  });

  it('the script and styles are served as files, small, and the script is valid JavaScript with the hops in it', async () => {
    const script = await get('/assets/ui.js');
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    assert.doesNotThrow(() => new Script(script.body));
    for (const hop of HOPS) assert.ok(script.body.includes(JSON.stringify(hop.plain)), hop.hop);
    const style = await get('/assets/ui.css');
    assert.match(String(style.headers['content-type']), /^text\/css/);
    assert.ok(script.body.length + style.body.length < 100 * 1024, 'scripts and styles under 100 kB');
  });

  it("lists the example ports tables porthole ships, and a table's rows before it is checked", async () => {
    const shipped = await buildUi({ token: TOKEN, port: PORT, run: { env: {} } });
    try {
      const answer = await shipped.app.inject({
        method: 'GET',
        url: '/api/examples',
        headers: { host: HOST, cookie: COOKIE },
      });
      const examples = answer.json().examples as { name: string; path: string }[];
      const media = examples.find((example) => example.name === 'media-server');
      assert.ok(media, JSON.stringify(examples));
      assert.ok(examples.length >= 5);
      const table = await shipped.app.inject({
        method: 'GET',
        url: `/api/table?source=${encodeURIComponent(media.path)}`,
        headers: { host: HOST, cookie: COOKIE },
      });
      const rows = table.json().table.rows as { name: string; ports: string; expose: boolean }[];
      assert.deepEqual(
        rows.filter((row) => row.expose).map((row) => [row.name, row.ports]),
        [['client-to-server', '7001/tcp']],
      );
    } finally {
      await shipped.app.close();
    }
  });

  it('a bad port is said at once, beside the field (400 E_PORT_SPEC), not as a run', async () => {
    const answer = await post('/api/check', JSON_HEADERS, { source: '70000' });
    assert.equal(answer.statusCode, 400);
    assert.equal(answer.json().error.code, 'E_PORT_SPEC');
  });
});

describe('ui: settings go to the configuration file', () => {
  let folder: string;
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'porthole-ui-settings-'));
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('the page writes checker, relay.url and dns.name; an empty field removes the key; bad values are refused', async () => {
    const env = { XDG_CONFIG_HOME: folder };
    const ui = await buildUi({ token: TOKEN, port: PORT, examples: null, run: { env } });
    try {
      const post = (body: unknown) =>
        ui.app.inject({ method: 'POST', url: '/api/settings', headers: JSON_HEADERS, payload: JSON.stringify(body) });
      const saved = await post({
        checker: 'http://127.0.0.1:8080',
        relay: 'ssh://me@relay.example.net',
        name: 'media.example.net',
      });
      assert.equal(saved.statusCode, 200, saved.body);
      const file = join(folder, 'porthole', 'config.yaml');
      const text = readFileSync(file, 'utf8');
      assert.match(text, /checker: http:\/\/127\.0\.0\.1:8080/);
      assert.match(text, /relay:\s+url: ssh:\/\/me@relay\.example\.net/);
      assert.match(text, /dns:\s+name: media\.example\.net/);
      const shown = saved.json() as { values: Record<string, { value: string; from: string }>; file: string };
      assert.equal(shown.file, file);
      assert.equal(shown.values.checker?.value, 'http://127.0.0.1:8080');
      assert.match(shown.values.checker?.from ?? '', /config\.yaml/);

      const bad = await post({ checker: 'ftp://nowhere', name: 'fine.example.net' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'E_CHECKER_URL');
      assert.equal(readFileSync(file, 'utf8'), text, 'nothing written when one field is bad');

      const removed = await post({ relay: '' });
      assert.equal(removed.statusCode, 200);
      assert.doesNotMatch(readFileSync(file, 'utf8'), /relay/);
      assert.equal(removed.json().values.relay.from, 'unset');
    } finally {
      await ui.app.close();
    }
  });

  it('a value the environment sets is shown as such: the file does not apply while it is set', async () => {
    const ui = await buildUi({
      token: TOKEN,
      port: PORT,
      examples: null,
      run: { env: { XDG_CONFIG_HOME: folder, PORTHOLE_CHECKER: 'http://127.0.0.1:9999' } },
    });
    try {
      const answer = await ui.app.inject({
        method: 'GET',
        url: '/api/settings',
        headers: { host: HOST, cookie: COOKIE },
      });
      const checker = answer.json().values.checker;
      assert.deepEqual(
        [checker.value, checker.from, checker.fromEnvironment],
        ['http://127.0.0.1:9999', 'env PORTHOLE_CHECKER', true],
      );
    } finally {
      await ui.app.close();
    }
  });
});

/** The page's event stream over a real loopback socket, as a browser holds it. */
function openEvents(running: RunningUi, cookie: string) {
  const events: PageEvent[] = [];
  const waiters = new Set<() => void>();
  const url = new URL(running.origin);
  const request = httpRequest({
    host: url.hostname,
    port: url.port,
    path: '/api/events',
    headers: { cookie, 'sec-fetch-site': 'same-origin' },
  });
  let buffer = '';
  const ready = new Promise<number>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (data) events.push(JSON.parse(data) as PageEvent);
        }
        for (const wake of waiters) wake();
      });
      resolve(response.statusCode ?? 0);
    });
  });
  request.end();
  /** Waits (bounded) until an event matches. */
  const waitFor = (match: (event: PageEvent) => boolean, ms = 15_000): Promise<PageEvent> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.find(match);
        if (!found) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`no such event in ${ms} ms; got ${events.map((e) => JSON.stringify(e).slice(0, 120)).join('\n')}`),
        );
      }, ms);
      waiters.add(check);
      check();
    });
  return { events, ready, waitFor, close: () => request.destroy() };
}

/** POSTs JSON to the running page with its key, as the page's script does. */
async function postTo(
  running: RunningUi,
  cookie: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: { id: number; job: string; error: { code: string } } }> {
  const response = await fetch(`${running.origin}${path}`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', origin: running.origin, 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    json: (await response.json()) as { id: number; job: string; error: { code: string } },
  };
}

describe('ui: runs on the loopback fake router, streamed to the page', () => {
  let router: FakeRouter;
  let state: string;
  let saved: string | undefined;
  let running: RunningUi;
  let cookie: string;
  /** This machine, except that the firewall is never changed: it says what an unelevated process hears. */
  const host: Host = (() => {
    const real = currentHost({ env: {} });
    return {
      ...real,
      firewall: {
        ...real.firewall,
        applyRules: async () => {
          throw new PortholeError('E_PERMISSION', {
            detail: 'changing the nftables ruleset needs root',
            data: { commands: ['sudo porthole firewall 7421 --target nftables --apply'] },
          });
        },
      },
    };
  })();

  before(async () => {
    saved = process.env.PORTHOLE_ONLY_GATEWAYS;
    process.env.PORTHOLE_ONLY_GATEWAYS = `${FAKE_ROUTER_HOST}/32`;
    router = await startFakeRouter({ externalIp: '198.51.100.7' });
    state = mkdtempSync(join(tmpdir(), 'porthole-ui-runs-'));
    running = await startUi({
      open: false,
      examples: null,
      run: {
        env: { XDG_STATE_HOME: state, XDG_CONFIG_HOME: state },
        host,
        discovery: {
          gateway: FAKE_ROUTER_HOST,
          natpmpPort: router.natpmpPort,
          ssdpPort: router.ssdpPort,
          multicast: false,
          policy: loopbackOnly,
        },
        announcements: false,
      },
    });
    const port = Number(new URL(running.origin).port);
    cookie = `${tokenCookieName(port)}=${new URL(running.url).searchParams.get('token')}`;
  });
  after(async () => {
    await running.stop();
    await router.close();
    rmSync(state, { recursive: true, force: true });
    if (saved === undefined) delete process.env.PORTHOLE_ONLY_GATEWAYS;
    else process.env.PORTHOLE_ONLY_GATEWAYS = saved;
  });

  it('listens on 127.0.0.1 and prints a URL with a 43-character key', () => {
    assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
    assert.equal(running.opened, false);
  });

  it('the event stream carries each step of a check as it starts and ends, then the report with each finding’s hop', async () => {
    const stream = openEvents(running, cookie);
    try {
      assert.equal(await stream.ready, 200);
      const first = await stream.waitFor((e) => (e as { type: string }).type === 'snapshot' || e.type === 'job');
      assert.equal((first as { type: string }).type, 'snapshot');
      const started = await postTo(running, cookie, '/api/check', { source: '7421' });
      assert.equal(started.status, 202);
      assert.equal(started.json.job, 'check');
      const again = await postTo(running, cookie, '/api/check', { source: '7421' });
      assert.equal(again.status, 409, 'one check at a time');
      assert.equal(again.json.error.code, 'E_UI_BUSY');
      const done = await stream.waitFor((e) => e.type === 'job' && e.id === started.json.id && e.state !== 'started');
      const steps = stream.events.flatMap((e) =>
        e.type === 'progress' && e.id === started.json.id && e.event.kind === 'step'
          ? [`${e.event.step}:${e.event.state}:${(e.hops ?? []).join('+')}`]
          : [],
      );
      assert.ok(steps.includes('host:started:listener+firewall'), steps.join(' '));
      assert.ok(steps.includes('host:done:listener+firewall'), steps.join(' '));
      assert.ok(steps.includes('gateway:started:gateway'), steps.join(' '));
      assert.ok(steps.includes('gateway:done:gateway'), steps.join(' '));
      assert.ok(steps.indexOf('gateway:started:gateway') < steps.indexOf('gateway:done:gateway'));
      assert.equal(done.type === 'job' && done.state, 'done');
      const report = (done as { result: { findings: { id: string; hop: string; status: string }[] } }).result;
      const hops = Object.fromEntries(report.findings.map((f) => [f.id, f.hop]));
      assert.equal(hops['listener:7421/tcp'], 'listener');
      assert.equal(hops.gateway, 'gateway');
      assert.equal(report.findings.find((f) => f.id === 'gateway')?.status, 'ok');
      assert.equal(
        report.findings.find((f) => f.id === 'listener:7421/tcp')?.status,
        'fail',
        'nothing listens on 7421',
      );
    } finally {
      stream.close();
    }
  });

  it('"Open the host firewall" without the right says the exact lines for an elevated prompt', async () => {
    const stream = openEvents(running, cookie);
    try {
      await stream.ready;
      const started = await postTo(running, cookie, '/api/firewall', { source: '7421' });
      assert.equal(started.status, 202);
      const failed = await stream.waitFor((e) => e.type === 'job' && e.id === started.json.id && e.state === 'failed');
      const error = (failed as { error: { code: string; commands?: string[] } }).error;
      assert.equal(error.code, 'E_PERMISSION');
      assert.deepEqual(error.commands, ['sudo porthole firewall 7421 --target nftables --apply']);
    } finally {
      stream.close();
    }
  });

  it('"Make it reachable" maps the port and "Remove what porthole made" takes the mapping away', async () => {
    const stream = openEvents(running, cookie);
    try {
      await stream.ready;
      const made = await postTo(running, cookie, '/api/expose', { source: '7422' });
      assert.equal(made.status, 202);
      const exposed = await stream.waitFor((e) => e.type === 'job' && e.id === made.json.id && e.state !== 'started');
      assert.equal(exposed.type === 'job' && exposed.state, 'done', JSON.stringify(exposed));
      const result = (exposed as { result: { road: string; mappings: string[] } }).result;
      assert.equal(result.road, 'direct');
      assert.match(result.mappings[0] ?? '', /198\.51\.100\.7:7422\/tcp -> /);
      assert.ok(
        stream.events.some((e) => e.type === 'progress' && e.event.kind === 'road' && e.event.state === 'taken'),
      );
      assert.ok(
        router.mappings().some((m) => m.internalPort === 7422),
        'on the router',
      );

      const removing = await postTo(running, cookie, '/api/remove', {});
      assert.equal(removing.status, 202);
      const removed = await stream.waitFor(
        (e) => e.type === 'job' && e.id === removing.json.id && e.state !== 'started',
      );
      assert.equal(removed.type === 'job' && removed.state, 'done', JSON.stringify(removed));
      const report = (removed as { result: { removed: string[] } }).result;
      assert.ok(
        report.removed.some((what) => /port forward 198\.51\.100\.7:7422\/tcp/.test(what)),
        report.removed.join('; '),
      );
      assert.ok(!router.mappings().some((m) => m.internalPort === 7422), 'gone from the router');
    } finally {
      stream.close();
    }
  });

  it('the Stop button stops the page: the stream hears it and the server closes', async () => {
    const stream = openEvents(running, cookie);
    await stream.ready;
    const answer = await postTo(running, cookie, '/api/stop', {});
    assert.equal(answer.status, 202);
    await stream.waitFor((e) => e.type === 'stopping');
    assert.equal(await running.stopped, 'page');
    await assert.rejects(fetch(`${running.origin}/assets/ui.css`));
    stream.close();
  });
});
