import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  checkEgressAnswer,
  decodeEgressHello,
  encodeEgressAnswer,
  encodeEgressHello,
  newEgressNonce,
} from '../../src/egress/bannerCodec.js';

describe('egress handshake codec', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');

  it('round-trips hello and a signed answer', () => {
    const nonce = newEgressNonce();
    assert.deepEqual(decodeEgressHello(encodeEgressHello(745, nonce)), { port: 745, nonce });
    const answer = encodeEgressAnswer(privateKey, 745, nonce);
    assert.equal(checkEgressAnswer(answer, 745, nonce, publicKey), 'signed');
    assert.equal(checkEgressAnswer(answer, 745, nonce), 'nonce');
  });

  it('an answer for another port, another nonce or another key is foreign', () => {
    const nonce = newEgressNonce();
    const answer = encodeEgressAnswer(privateKey, 745, nonce);
    assert.equal(checkEgressAnswer(answer, 443, nonce, publicKey), 'foreign');
    assert.equal(checkEgressAnswer(answer, 745, newEgressNonce(), publicKey), 'foreign');
    assert.equal(checkEgressAnswer(answer, 745, nonce, other.publicKey), 'foreign');
    assert.equal(checkEgressAnswer('HTTP/1.1 200 OK\r\n', 745, nonce, publicKey), 'foreign');
  });

  it('refuses hellos that are not ours or name an impossible port', () => {
    assert.equal(decodeEgressHello('GET / HTTP/1.1\r\n'), undefined);
    assert.equal(decodeEgressHello(`PORTHOLE-EGRESS/1 70000 ${newEgressNonce()}\n`), undefined);
    assert.equal(decodeEgressHello(`PORTHOLE-EGRESS/1 0 ${newEgressNonce()}\n`), undefined);
  });
});
