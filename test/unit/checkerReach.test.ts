/**
 * The checker's connection is checked before the request: a refused port fails at once with
 * the port named, and the hint moves the checker to a port venues let out (80/443) only when
 * it is not on one already. The dropped-port case (3 s) runs in the lab (egressIntercept).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { portOf, requestPublicIp, unreachableHint } from '../../src/checkerClient/index.js';
import { PortholeError } from '../../src/errors/index.js';
import { freePort } from '../support/ports.js';

describe('checker connection failures', () => {
  it('the port of a URL, explicit or by scheme', () => {
    assert.equal(portOf(new URL('http://checker.example.net')), 80);
    assert.equal(portOf(new URL('https://checker.example.net')), 443);
    assert.equal(portOf(new URL('http://[2001:db8::1]:8080')), 8080);
  });

  it('hints to serve the checker on 443 or 80 only when it is elsewhere', () => {
    const move =
      /the network may block port 8080 outbound; run the checker on 443 or 80 \(porthole serve --listen 0\.0\.0\.0:443\)/;
    assert.match(unreachableHint(new URL('http://203.0.113.9:8080'), 'ETIMEDOUT') ?? '', move);
    assert.match(unreachableHint(new URL('http://203.0.113.9:8080'), 'ECONNREFUSED') ?? '', move);
    for (const url of ['http://203.0.113.9', 'https://203.0.113.9', 'http://203.0.113.9:443']) {
      assert.doesNotMatch(unreachableHint(new URL(url), 'ETIMEDOUT') ?? '', /443 or 80/, url);
      assert.doesNotMatch(unreachableHint(new URL(url), 'ECONNREFUSED') ?? '', /443 or 80/, url);
    }
    assert.match(unreachableHint(new URL('http://nowhere.example.net:8080'), 'ENOTFOUND') ?? '', /did not resolve/);
  });

  it('a refused port is E_CHECKER_UNREACHABLE at once, with the port and the reason', async () => {
    const port = await freePort();
    await assert.rejects(requestPublicIp(new URL(`http://127.0.0.1:${port}`)), (error: unknown) => {
      assert.ok(error instanceof PortholeError);
      assert.equal(error.code, 'E_CHECKER_UNREACHABLE');
      assert.deepEqual(error.data, { port, reason: 'ECONNREFUSED' });
      assert.match(error.hint ?? '', new RegExp(`Port ${port} on 127\\.0\\.0\\.1 refused the connection`));
      return true;
    });
  });
});
