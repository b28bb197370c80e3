import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PortholeError } from '../../src/errors/index.js';
import { countPorts, formatPortSpec, parsePortSpec, portEntries } from '../../src/net/portSpec.js';

function rejects(spec: string, pattern: RegExp): void {
  assert.throws(
    () => parsePortSpec(spec),
    (error: unknown) => error instanceof PortholeError && error.code === 'E_PORT_SPEC' && pattern.test(error.message),
    `expected E_PORT_SPEC matching ${pattern} for ${JSON.stringify(spec)}`,
  );
}

describe('parsePortSpec', () => {
  it('reads a bare port as TCP', () => {
    assert.deepEqual(parsePortSpec('7001'), [{ protocol: 'tcp', start: 7001, end: 7001 }]);
  });

  it('reads a protocol suffix', () => {
    assert.deepEqual(parsePortSpec('7001/udp'), [{ protocol: 'udp', start: 7001, end: 7001 }]);
    assert.deepEqual(parsePortSpec('7001/TCP'), [{ protocol: 'tcp', start: 7001, end: 7001 }]);
  });

  it('expands tcp+udp into one range per transport', () => {
    assert.deepEqual(parsePortSpec('554/tcp+udp'), [
      { protocol: 'tcp', start: 554, end: 554 },
      { protocol: 'udp', start: 554, end: 554 },
    ]);
  });

  it('reads ranges and the edges of the port space', () => {
    assert.deepEqual(parsePortSpec('20570-20575/tcp'), [{ protocol: 'tcp', start: 20570, end: 20575 }]);
    assert.deepEqual(parsePortSpec('1-65535'), [{ protocol: 'tcp', start: 1, end: 65535 }]);
    assert.equal(countPorts(parsePortSpec('1-65535/tcp+udp')), 131070);
  });

  it('reads comma lists with spaces, sorts and merges overlaps and neighbours', () => {
    assert.deepEqual(parsePortSpec(' 443, 80 ,81-90,85/tcp, 5353/udp '), [
      { protocol: 'tcp', start: 80, end: 90 },
      { protocol: 'tcp', start: 443, end: 443 },
      { protocol: 'udp', start: 5353, end: 5353 },
    ]);
  });

  it('round-trips through formatPortSpec', () => {
    for (const spec of ['7001/tcp', '80/tcp,443/tcp', '5800-5821/tcp,5800-5821/udp', '1-65535/udp']) {
      assert.equal(formatPortSpec(parsePortSpec(spec)), spec);
    }
  });

  it('lists entries lazily in order', () => {
    assert.deepEqual(
      [...portEntries(parsePortSpec('22,20-21/udp'))],
      [
        { protocol: 'tcp', port: 22 },
        { protocol: 'udp', port: 20 },
        { protocol: 'udp', port: 21 },
      ],
    );
  });

  it('refuses port 0 and 65536', () => {
    rejects('0', /port 0 is outside 1-65535/);
    rejects('65536', /port 65536 is outside 1-65535/);
    rejects('0-10', /port 0 is outside/);
  });

  it('refuses unknown protocols, naming the accepted ones', () => {
    rejects('7001/icmp', /unknown protocol "icmp" \(expected tcp, udp or tcp\+udp\)/);
    rejects('7001/', /unknown protocol ""/);
  });

  it('refuses reversed ranges and says how to write them', () => {
    rejects('10-5', /range 10-5 is reversed \(write 5-10\)/);
  });

  it('refuses empty input and empty list items', () => {
    rejects('', /no ports given/);
    rejects('   ', /no ports given/);
    rejects('80,,443', /empty item/);
    rejects('80,', /empty item/);
  });

  it('refuses garbage', () => {
    rejects('http', /"http" is not a port number/);
    rejects('80x', /"80x" is not a port number/);
    rejects('-5', /"" is not a port number/);
    rejects('1-2-3', /not a port or a range/);
    rejects('80/tcp/udp', /more than one "\/"/);
    rejects('1e3', /not a port number/);
    rejects('+80', /not a port number/);
  });

  it('carries the spec in the error data for --json', () => {
    try {
      parsePortSpec('70000');
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(error instanceof PortholeError);
      assert.deepEqual(error.toJSON().spec, '70000');
      assert.match(error.hint, /1-65535/);
    }
  });
});
