/**
 * The check page on both families: the options (`serve --page-ipv4/--page-ipv6/--page-origin`),
 * the CORS answers (only the configured origins get Access-Control-Allow-Origin, the JSON POST's
 * preflight included), the CSP naming exactly the two URLs, and the page's script parsing in
 * both modes. Requests are injected; nothing listens.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildChecker } from '../../src/checker/index.js';
import { checkPageCsp, checkPageScript, PAGE_CSP } from '../../src/checker/page.js';
import { allowedOrigin, type PageFamilies, parsePageFamilies } from '../../src/checker/pageFamilies.js';
import { runCli } from '../../src/cli/program.js';
import { PortholeError } from '../../src/errors/index.js';

const V4 = 'http://ipv4.checker.example:8080/';
const V6 = 'http://ipv6.checker.example:8080/';
const PAGE = 'http://checker.example:8080';

function usageError(run: () => unknown, detail: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof PortholeError);
    assert.equal(error.code, 'E_USAGE');
    assert.match(error.message, detail);
    assert.ok(error.hint && error.hint.length > 10, 'a hint says what to write');
    return true;
  });
}

describe('page families: the options', () => {
  it('neither URL: no families (the page checks the family the browser used)', () => {
    assert.equal(parsePageFamilies({}), undefined);
  });

  it('both URLs: base URLs ending in /, the page origins default to their own', () => {
    const families = parsePageFamilies({ ipv4: 'http://ipv4.checker.example:8080', ipv6: V6 });
    assert.deepEqual(families, {
      ipv4: V4,
      ipv6: V6,
      origins: ['http://ipv4.checker.example:8080', 'http://ipv6.checker.example:8080'],
    });
  });

  it('--page-origin adds the origins where the page is opened (once each), a path prefix is kept', () => {
    const families = parsePageFamilies({
      ipv4: 'https://v4.example.org/porthole',
      ipv6: 'https://v6.example.org/porthole/',
      origins: `${PAGE}, ${PAGE}/ ,https://example.org`,
    });
    assert.deepEqual(families?.origins, [
      PAGE,
      'https://example.org',
      'https://v4.example.org',
      'https://v6.example.org',
    ]);
    assert.equal(families?.ipv4, 'https://v4.example.org/porthole/');
  });

  it('bad input: each an E_USAGE with a hint', () => {
    usageError(() => parsePageFamilies({ ipv4: 'not a url', ipv6: V6 }), /--page-ipv4 "not a url" is not a URL/);
    usageError(
      () => parsePageFamilies({ ipv4: V4, ipv6: 'ftp://[2001:db8::1]/' }),
      /--page-ipv6 .* is not http or https/,
    );
    usageError(() => parsePageFamilies({ ipv4: V4 }), /--page-ipv4 without --page-ipv6/);
    usageError(() => parsePageFamilies({ ipv6: V6 }), /--page-ipv6 without --page-ipv4/);
    usageError(() => parsePageFamilies({ origins: PAGE }), /--page-origin without/);
    usageError(() => parsePageFamilies({ ipv4: V4, ipv6: `${V4}x/` }), /same origin/);
    usageError(() => parsePageFamilies({ ipv4: `${V4}?a=1`, ipv6: V6 }), /a query or a fragment/);
    usageError(() => parsePageFamilies({ ipv4: 'http://user:pw@a.example/', ipv6: V6 }), /a user/);
    usageError(() => parsePageFamilies({ ipv4: "http://a.example/x;'y", ipv6: V6 }), /CSP source/);
    usageError(() => parsePageFamilies({ ipv4: V4, ipv6: V6, origins: `${PAGE}/page/` }), /has a path/);
  });

  it('the serve command refuses a bad URL before it listens: exit 2, E_USAGE and the hint', async () => {
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (chunk) => {
      out += chunk;
    });
    const status = await runCli(
      ['serve', '--listen', '127.0.0.1:1', '--page-ipv4', 'ipv4.checker.example', '--page-ipv6', V6, '--json'],
      { stdout, stderr: new PassThrough(), env: {} },
    );
    assert.equal(status, 2);
    const body = JSON.parse(out) as { error: { code: string; message: string; hint: string } };
    assert.equal(body.error.code, 'E_USAGE');
    assert.match(body.error.message, /--page-ipv4 "ipv4\.checker\.example" is not a URL/);
    assert.match(body.error.hint, /--page-ipv4 http:\/\/NAME:PORT\//);
  });

  it('with --nats (the fleet front serves no page) a page option is E_USAGE, not silently ignored', async () => {
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (chunk) => {
      out += chunk;
    });
    const status = await runCli(['serve', '--nats', 'nats://127.0.0.1:1', '--page-origin', PAGE, '--json'], {
      stdout,
      stderr: new PassThrough(),
      env: {},
    });
    assert.equal(status, 2);
    const body = JSON.parse(out) as { error: { code: string; message: string; hint: string } };
    assert.equal(body.error.code, 'E_USAGE');
    assert.match(body.error.message, /--page-origin with --nats/);
    assert.match(body.error.hint, /without --nats/);
  });
});

describe('page families: CSP and script', () => {
  const families = parsePageFamilies({ ipv4: V4, ipv6: V6, origins: PAGE }) as PageFamilies;

  it('without families the CSP is the strict one; with them connect-src names exactly the two URLs', () => {
    assert.equal(checkPageCsp(), PAGE_CSP);
    assert.doesNotMatch(PAGE_CSP, /connect-src/);
    const csp = checkPageCsp(families);
    const directives = new Map(
      csp.split(';').map((part) => {
        const [name = '', ...values] = part.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    assert.deepEqual(directives.get('connect-src'), ["'self'", V4, V6]);
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  });

  it('the script parses in both modes and carries the URLs and origins only when configured', () => {
    for (const script of [checkPageScript(), checkPageScript(families)])
      assert.doesNotThrow(() => new Function(script));
    assert.match(checkPageScript(), /const FAMILIES = null;/);
    assert.match(checkPageScript(families), new RegExp(`"origins":\\["${PAGE.replace(/[./]/g, '\\$&')}"`));
  });

  it('allowedOrigin echoes a listed origin only, exactly', () => {
    assert.equal(allowedOrigin(families, PAGE), PAGE);
    assert.equal(allowedOrigin(families, `${PAGE}/`), undefined);
    assert.equal(allowedOrigin(families, 'http://checker.example:8081'), undefined);
    assert.equal(allowedOrigin(families, 'null'), undefined);
    assert.equal(allowedOrigin(families, undefined), undefined);
    assert.equal(allowedOrigin(undefined, PAGE), undefined);
  });
});

describe('page families: CORS on /v1/ip and /v1/check', () => {
  let app: FastifyInstance;
  let plain: FastifyInstance;
  before(async () => {
    const pageFamilies = parsePageFamilies({ ipv4: V4, ipv6: V6, origins: PAGE });
    app = await buildChecker({ pageFamilies });
    plain = await buildChecker();
  });
  after(async () => {
    await app.close();
    await plain.close();
  });

  it('a configured origin gets Access-Control-Allow-Origin (echoed) and Vary: Origin', async () => {
    for (const origin of [PAGE, 'http://ipv6.checker.example:8080']) {
      const response = await app.inject({ method: 'GET', url: '/v1/ip', headers: { origin } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['access-control-allow-origin'], origin);
      assert.match(String(response.headers.vary), /Origin/);
    }
  });

  it('any other origin gets no CORS header at all, nor does a service without families', async () => {
    for (const origin of ['http://evil.example', 'http://checker.example:8081', 'null']) {
      const response = await app.inject({ method: 'GET', url: '/v1/ip', headers: { origin } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['access-control-allow-origin'], undefined, origin);
    }
    const response = await plain.inject({ method: 'GET', url: '/v1/ip', headers: { origin: PAGE } });
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });

  it("the JSON POST's preflight: allowed for a configured origin, no CORS headers for another", async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/v1/check',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const ok = await preflight(PAGE);
    assert.equal(ok.statusCode, 204);
    assert.equal(ok.headers['access-control-allow-origin'], PAGE);
    assert.equal(ok.headers['access-control-allow-methods'], 'POST');
    assert.equal(ok.headers['access-control-allow-headers'], 'content-type');
    const refused = await preflight('http://evil.example');
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    assert.equal(refused.headers['access-control-allow-methods'], undefined);
    assert.equal(refused.headers['access-control-allow-headers'], undefined);
  });

  it("a refused check still carries the header, so the page can read the refusal's words", async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/check',
      headers: { origin: PAGE, 'content-type': 'application/json' },
      payload: { ports: 'x' },
    });
    assert.equal(response.statusCode, 400);
    assert.equal(response.headers['access-control-allow-origin'], PAGE);
    assert.ok((response.json() as { error?: { code: string } }).error?.code);
  });

  it('the page and other routes get no CORS header; the page is served with the CSP naming the URLs', async () => {
    const page = await app.inject({ method: 'GET', url: '/', headers: { origin: PAGE } });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['access-control-allow-origin'], undefined);
    assert.match(String(page.headers['content-security-policy']), new RegExp(`connect-src 'self' ${V4} ${V6};`));
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: { origin: PAGE } });
    assert.equal(metrics.headers['access-control-allow-origin'], undefined);
    const plainPage = await plain.inject({ method: 'GET', url: '/' });
    assert.equal(plainPage.headers['content-security-policy'], PAGE_CSP);
  });
});
