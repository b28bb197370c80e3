/**
 * The RFC 2136 + TSIG codec: names, the UPDATE message, TSIG signing and verification, the key
 * file, and byte equality with what BIND's own nsupdate sends for the same update (captured on
 * loopback; our message is rebuilt with nsupdate's id and Time Signed, the two values nsupdate
 * picks at random or from the clock, and every byte, the MAC included, must match).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MessageWriter, normalizeName, readName } from '../../src/dns/dnsName.js';
import { parseTsigKeyFile } from '../../src/dns/keyFile.js';
import { signMessage, signResponse, TSIG_ERROR, type TsigKey, tsigOf, verifyResponse } from '../../src/dns/tsig.js';
import { CLASS, decodeMessage, encodeUpdate, replaceRRset, TYPE } from '../../src/dns/updateCodec.js';
import { PortholeError } from '../../src/errors/index.js';

const coded = (code: string) => (error: unknown) => error instanceof PortholeError && error.code === code;

const KEY_FILE = `key "porthole-update" {
\talgorithm hmac-sha256;
\tsecret "vybMpHO9JLZQtYgW/PolbXtiwa0tXbl2bR7ralKJZhs=";
};
`;
const KEY: TsigKey = parseTsigKeyFile(KEY_FILE);

describe('DNS names', () => {
  it('normalizes names and refuses what is not one', () => {
    assert.equal(normalizeName('Host.Dyn.Example.NET.'), 'host.dyn.example.net');
    for (const bad of ['', 'a..b', '-a.example', `${'x'.repeat(64)}.example`, 'a b.example', 'é.example']) {
      assert.throws(() => normalizeName(bad), coded('E_DNS_NAME'), bad);
    }
  });

  it('compresses suffixes already written and reads them back', () => {
    const w = new MessageWriter();
    w.bytes(Buffer.alloc(12));
    w.name('dyn.example.net');
    w.name('host.dyn.example.net');
    w.name('host.dyn.example.net');
    const bytes = w.finish();
    // 17 bytes for the first name, "host" + pointer, then a bare pointer.
    assert.equal(bytes.length, 12 + 17 + 7 + 2);
    assert.deepEqual(readName(bytes, 29), { name: 'host.dyn.example.net', next: 36 });
    assert.deepEqual(readName(bytes, 36), { name: 'host.dyn.example.net', next: 38 });
  });

  it('refuses pointer loops and names running past the end', () => {
    const loop = Buffer.from([0xc0, 0x00]);
    assert.throws(() => readName(loop, 0), coded('E_MALFORMED_PACKET'));
    assert.throws(() => readName(Buffer.from([5, 0x61]), 0), coded('E_MALFORMED_PACKET'));
  });
});

describe('TSIG key files', () => {
  it('reads what tsig-keygen writes, with comments', () => {
    const key = parseTsigKeyFile(`# made by tsig-keygen\n${KEY_FILE.replace('porthole-update', 'Porthole-Update.')}`);
    assert.equal(key.name, 'porthole-update');
    assert.equal(key.algorithm, 'hmac-sha256');
    assert.equal(key.secret.length, 32);
  });

  it('refuses MD5, a missing secret and a missing clause, without echoing the secret', () => {
    assert.throws(() => parseTsigKeyFile(KEY_FILE.replace('hmac-sha256', 'hmac-md5')), coded('E_DNS_KEY_FILE'));
    assert.throws(() => parseTsigKeyFile('key "k" { algorithm hmac-sha256; };'), coded('E_DNS_KEY_FILE'));
    assert.throws(() => parseTsigKeyFile('options { };'), coded('E_DNS_KEY_FILE'));
    try {
      parseTsigKeyFile(KEY_FILE.replace('hmac-sha256', 'hmac-md5'));
    } catch (error) {
      assert.doesNotMatch(String((error as Error).message), /vybMpHO9/);
    }
  });
});

describe('UPDATE messages', () => {
  it('writes replace-the-RRset as delete (class ANY, no data) then add, and reads it back', () => {
    const bytes = encodeUpdate({
      id: 0x1234,
      zone: 'dyn.example.net',
      changes: replaceRRset('host.dyn.example.net', 'AAAA', ['2001:db8::7'], 60),
    });
    const decoded = decodeMessage(bytes);
    assert.equal(decoded.id, 0x1234);
    assert.equal(decoded.opcode, 5);
    assert.deepEqual(decoded.questions, [{ name: 'dyn.example.net', type: TYPE.SOA, klass: CLASS.IN }]);
    assert.equal(decoded.answers.length, 0);
    const [remove, add] = decoded.authorities;
    assert.deepEqual(
      [remove?.name, remove?.type, remove?.klass, remove?.ttl, remove?.rdata.length],
      ['host.dyn.example.net', TYPE.AAAA, CLASS.ANY, 0, 0],
    );
    assert.deepEqual(
      [add?.type, add?.klass, add?.ttl, add?.rdata.toString('hex')],
      [TYPE.AAAA, CLASS.IN, 60, '20010db8000000000000000000000007'],
    );
  });

  it('refuses an address of the wrong family for the type', () => {
    assert.throws(
      () => encodeUpdate({ id: 1, zone: 'z.example', changes: replaceRRset('a.z.example', 'A', ['2001:db8::1'], 60) }),
      coded('E_ADDRESS'),
    );
  });

  it('refuses a message with bytes after its last record, and one shorter than a header', () => {
    const bytes = encodeUpdate({ id: 1, zone: 'z.example', changes: [] });
    assert.throws(() => decodeMessage(Buffer.concat([bytes, Buffer.from([0])])), coded('E_MALFORMED_PACKET'));
    assert.throws(() => decodeMessage(bytes.subarray(0, 5)), coded('E_MALFORMED_PACKET'));
  });
});

/** A response to `request`: same id and zone, QR set, RCODE `rcode`. */
function responseTo(request: Buffer, rcode: number): Buffer {
  const decoded = decodeMessage(request);
  const w = new MessageWriter();
  w.u16(decoded.id);
  w.u16(0x8000 | (5 << 11) | rcode);
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  w.name(decoded.questions[0]?.name ?? '');
  w.u16(TYPE.SOA);
  w.u16(CLASS.IN);
  return w.finish();
}

describe('TSIG', () => {
  const request = signMessage(
    encodeUpdate({
      id: 7,
      zone: 'dyn.example.net',
      changes: replaceRRset('h.dyn.example.net', 'A', ['192.0.2.1'], 60),
    }),
    KEY,
    { timeSigned: 1_800_000_000 },
  );

  it('signs a request whose TSIG record reads back with our time, fudge and id', () => {
    const decoded = decodeMessage(request.bytes);
    const tsig = tsigOf(request.bytes, decoded);
    assert.equal(tsig?.keyName, 'porthole-update');
    assert.equal(tsig?.algorithm, 'hmac-sha256');
    assert.equal(tsig?.timeSigned, 1_800_000_000);
    assert.equal(tsig?.fudge, 300);
    assert.equal(tsig?.originalId, 7);
    assert.deepEqual(tsig?.mac, request.mac);
  });

  it('verifies a signed response and refuses one altered on the way', () => {
    const response = signResponse(responseTo(request.bytes, 0), KEY, request.mac, { timeSigned: 1_800_000_001 });
    const { verdict } = verifyResponse(response, KEY, request.mac, 1_800_000_002);
    assert.equal(verdict.kind, 'signed');
    const altered = Buffer.from(response);
    altered[3] = (altered[3] ?? 0) | 5; // RCODE REFUSED, the MAC left as it was
    assert.throws(() => verifyResponse(altered, KEY, request.mac, 1_800_000_002), coded('E_DNS_RESPONSE_SIGNATURE'));
    const otherKey = { ...KEY, secret: Buffer.alloc(32, 1) };
    assert.throws(
      () => verifyResponse(response, otherKey, request.mac, 1_800_000_002),
      coded('E_DNS_RESPONSE_SIGNATURE'),
    );
  });

  it('reports BADKEY (unsigned) and BADTIME (signed, with the server time) as TSIG errors', () => {
    const badKey = signResponse(responseTo(request.bytes, 9), KEY, request.mac, {
      timeSigned: 1_800_000_000,
      error: TSIG_ERROR.BADKEY,
    });
    const first = verifyResponse(badKey, KEY, request.mac, 1_800_000_000).verdict;
    assert.equal(first.kind, 'tsig-error');
    assert.equal(first.kind === 'tsig-error' && first.tsig.error, TSIG_ERROR.BADKEY);
    const serverTime = Buffer.alloc(6);
    serverTime.writeUIntBE(1_800_001_000, 0, 6);
    const badTime = signResponse(responseTo(request.bytes, 9), KEY, request.mac, {
      timeSigned: 1_800_001_000,
      error: TSIG_ERROR.BADTIME,
      other: serverTime,
    });
    const second = verifyResponse(badTime, KEY, request.mac, 1_800_000_000).verdict;
    assert.equal(second.kind === 'tsig-error' && second.serverTime, 1_800_001_000);
  });

  it('refuses a correctly signed answer from far outside the fudge', () => {
    const response = signResponse(responseTo(request.bytes, 0), KEY, request.mac, { timeSigned: 1_800_000_000 });
    assert.throws(() => verifyResponse(response, KEY, request.mac, 1_800_001_000), coded('E_DNS_BADTIME'));
  });
});

const hasNsupdate = spawnSync('nsupdate', ['-V']).status === 0;

/** Runs nsupdate with `script` against a loopback UDP listener and returns the first datagram it sent. */
async function captureNsupdate(keyFile: string, script: string): Promise<Buffer> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const child = spawn('nsupdate', ['-k', keyFile, '-t', '2'], { stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    const packet = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('nsupdate sent nothing in 5 s')), 5000);
      socket.once('message', (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
    child.stdin.end(`server 127.0.0.1 ${port}\n${script}send\n`);
    return await packet;
  } finally {
    child.kill();
    socket.close();
  }
}

describe('byte equality with nsupdate', { skip: hasNsupdate ? false : 'nsupdate is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-nsupdate-'));
  const cases = [
    { algorithm: 'hmac-sha256', type: 'A', address: '203.0.113.7', ttl: 60 },
    { algorithm: 'hmac-sha512', type: 'AAAA', address: '2001:db8::7', ttl: 300 },
    { algorithm: 'hmac-sha1', type: 'A', address: '198.51.100.200', ttl: 3600 },
  ] as const;
  for (const c of cases) {
    it(`${c.algorithm}, ${c.type}: every byte, MAC included, equals nsupdate's for its id and time`, async () => {
      const keyText = spawnSync('tsig-keygen', ['-a', c.algorithm, `k-${c.algorithm}`], { encoding: 'utf8' }).stdout;
      const keyFile = join(dir, `${c.algorithm}.key`);
      writeFileSync(keyFile, keyText, { mode: 0o600 });
      const name = 'host.dyn.example.net';
      const captured = await captureNsupdate(
        keyFile,
        `zone dyn.example.net\nupdate delete ${name} ${c.type}\nupdate add ${name} ${c.ttl} ${c.type} ${c.address}\n`,
      );
      const theirs = tsigOf(captured, decodeMessage(captured));
      assert.ok(theirs, 'nsupdate signed its message');
      const ours = signMessage(
        encodeUpdate({
          id: captured.readUInt16BE(0),
          zone: 'dyn.example.net',
          changes: replaceRRset(name, c.type, [c.address], c.ttl),
        }),
        parseTsigKeyFile(keyText),
        { timeSigned: theirs.timeSigned },
      );
      assert.equal(ours.bytes.toString('hex'), captured.toString('hex'));
    });
  }
});

describe('TSIG key files with slashes in the secret', () => {
  it('keeps "//" inside the quoted secret (base64 can hold it) and drops comments around it', () => {
    const key = parseTsigKeyFile('/* k */ key "k" { algorithm hmac-sha256; secret "ab//cd//ef0="; }; // comment');
    assert.equal(key.secret.toString('base64'), 'ab//cd//ef0=');
  });
});
