import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PortholeError } from '../../src/errors/index.js';
import { loadManifest, manifestTableMarkdown, manifestTableText, parseManifest } from '../../src/manifest/index.js';
import type { ManifestIssue } from '../../src/manifest/types.js';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

function issuesOf(text: string): ManifestIssue[] {
  try {
    parseManifest(text, 'bad.yaml');
  } catch (error) {
    assert.ok(error instanceof PortholeError, String(error));
    assert.equal(error.code, 'E_MANIFEST_INVALID', error.message);
    return (error.data?.issues ?? []) as ManifestIssue[];
  }
  assert.fail('expected the manifest to be refused');
}

const GOOD_ENTRY = `  - name: web
    direction: inbound
    protocol: tcp
    port: 7001
`;

describe('examples/', () => {
  const files = readdirSync(examples).filter((file) => file.endsWith('.yaml'));

  it('holds one manifest per seed system', () => {
    assert.deepEqual(files.sort(), [
      'appliance.yaml',
      'camera-system.yaml',
      'media-server.yaml',
      'remote-access-server.yaml',
      'web-server.yaml',
    ]);
  });

  for (const file of files) {
    it(`${file} validates`, async () => {
      const manifest = await loadManifest(`${examples}${file}`);
      assert.ok(manifest.entries.length > 0);
    });
  }

  it('the media server exposes 7001/tcp and discovers over the mDNS and WS-Discovery groups', async () => {
    const manifest = await loadManifest(`${examples}media-server.yaml`);
    const exposed = manifest.entries.filter((entry) => entry.expose);
    assert.deepEqual(
      exposed.map((entry) => entry.ports),
      [[{ protocol: 'tcp', start: 7001, end: 7001 }]],
    );
    assert.deepEqual(
      manifest.entries.filter((entry) => entry.direction === 'multicast').map((entry) => entry.group),
      ['224.0.0.251', '239.255.255.250'],
    );
  });

  it('the appliance goes out on 745 to four named servers', async () => {
    const manifest = await loadManifest(`${examples}appliance.yaml`);
    const pool = manifest.entries.find((entry) => entry.name === 'server-pool');
    assert.deepEqual(
      pool?.peers.map((peer) => peer.kind),
      ['fqdn', 'fqdn', 'fqdn', 'fqdn'],
    );
  });
});

describe('parseManifest', () => {
  it('reads ports as a number, a range or a list, and tcp+udp as both transports', () => {
    const manifest = parseManifest(`name: m
ports:
  - name: a
    direction: inbound
    protocol: tcp+udp
    port: [5800-5821, 80, "443"]
`);
    const entry = manifest.entries[0];
    assert.deepEqual(entry?.ports, [
      { protocol: 'tcp', start: 80, end: 80 },
      { protocol: 'tcp', start: 443, end: 443 },
      { protocol: 'tcp', start: 5800, end: 5821 },
      { protocol: 'udp', start: 80, end: 80 },
      { protocol: 'udp', start: 443, end: 443 },
      { protocol: 'udp', start: 5800, end: 5821 },
    ]);
    assert.equal(entry?.required, true);
    assert.equal(entry?.expose, false);
    assert.equal(entry?.line, 3);
  });

  it('reads JSON too', () => {
    const manifest = parseManifest(
      '{"name": "j", "ports": [{"name": "a", "direction": "outbound", "protocol": "udp", "port": 53, "peers": ["192.0.2.53", "2001:db8::/32"]}]}',
    );
    assert.deepEqual(
      manifest.entries[0]?.peers.map((peer) => peer.text),
      ['192.0.2.53', '2001:db8::/32'],
    );
  });

  it('refuses an unknown direction, naming the line and the accepted values', () => {
    const [issue] = issuesOf(`name: m\nports:\n${GOOD_ENTRY.replace('inbound', 'sideways')}`);
    assert.equal(issue?.field, 'ports[0].direction');
    assert.equal(issue?.line, 4);
    assert.match(issue?.message ?? '', /expected one of "inbound"\|"outbound"\|"multicast"/);
  });

  it('refuses port 70000 and a reversed range at their lines', () => {
    const issues = issuesOf(`name: m
ports:
${GOOD_ENTRY.replace('7001', '70000')}  - name: b
    direction: inbound
    protocol: udp
    port: 10-5
`);
    assert.deepEqual(
      issues.map((issue) => [issue.field, issue.line]),
      [
        ['ports[0].port', 6],
        ['ports[1].port', 10],
      ],
    );
    assert.match(issues[0]?.message ?? '', /port 70000 is outside 1-65535/);
    assert.match(issues[1]?.message ?? '', /range 10-5 is reversed/);
  });

  it('refuses a missing protocol at the entry', () => {
    const [issue] = issuesOf(`name: m\nports:\n${GOOD_ENTRY.replace('    protocol: tcp\n', '')}`);
    assert.equal(issue?.field, 'ports[0].protocol');
    assert.equal(issue?.line, 3);
    assert.match(issue?.message ?? '', /missing/);
  });

  it('refuses YAML syntax errors with E_MANIFEST_SYNTAX and the position', () => {
    assert.throws(
      () => parseManifest('name: m\nports:\n  - name: [unclosed\n', 'broken.yaml'),
      (error: unknown) =>
        error instanceof PortholeError &&
        error.code === 'E_MANIFEST_SYNTAX' &&
        /broken\.yaml:\d+:\d+/.test(error.message),
    );
  });

  it('refuses unknown keys, so typos surface', () => {
    const [issue] = issuesOf(`name: m\nports:\n${GOOD_ENTRY}    protocl: udp\n`);
    assert.match(issue?.message ?? '', /Unrecognized key: "protocl"/);
  });

  it("refuses a multicast group that is not multicast (seed 004's 244.0.0.251 typo)", () => {
    const [issue] = issuesOf(`name: m
ports:
  - name: mdns
    direction: multicast
    protocol: udp
    port: 5353
    group: 244.0.0.251
`);
    assert.equal(issue?.field, 'ports[0].group');
    assert.equal(issue?.line, 7);
    assert.match(issue?.message ?? '', /expected a multicast address/);
  });

  it('refuses duplicate names, expose on outbound, bad peers, a protocol inside port', () => {
    const issues = issuesOf(`name: m
ports:
${GOOD_ENTRY}${GOOD_ENTRY}  - name: out
    direction: outbound
    protocol: tcp
    port: 7001/udp
    expose: true
    peers: [not a host]
`);
    const fields = issues.map((issue) => issue.field);
    // In file order: `expose:` comes before `peers:`.
    assert.deepEqual(fields, ['ports[1].name', 'ports[2].port', 'ports[2].expose', 'ports[2].peers[0]']);
  });

  it('refuses a file that cannot be read with E_MANIFEST_READ', async () => {
    await assert.rejects(
      loadManifest('/nonexistent/manifest.yaml'),
      (error: unknown) => error instanceof PortholeError && error.code === 'E_MANIFEST_READ',
    );
  });
});

describe('manifest tables', () => {
  it('renders text and Markdown tables like the seeds', async () => {
    const manifest = await loadManifest(`${examples}media-server.yaml`);
    const text = manifestTableText(manifest);
    assert.match(text, /^client-to-server\s+inbound\s+TCP\s+7001\s+any\s+yes\s+Desktop/m);
    assert.match(text, /^email\s+outbound\s+TCP\s+25, 465, 587\s+any\s+SMTP notifications \(optional\)/m);
    const markdown = manifestTableMarkdown(manifest);
    assert.match(
      markdown,
      /^\| mdns \| multicast \| UDP \| 5353 \| 224\.0\.0\.251 \| {2}\| Server auto-discovery over mDNS \|$/m,
    );
  });

  it('reports every problem at once: a wrong word beside a port out of range (shape and meaning together)', () => {
    const issues = issuesOf(`name: m
ports:
  - name: a
    direction: inbnd
    protocol: tcp
    port: 70000
    hosts: [not a host]
  - name: a
    direction: outbound
    protocol: tcpp
    port: [80, 99999]
`);
    assert.deepEqual(
      issues.map((issue) => [issue.line, issue.column, issue.field]),
      [
        [4, 16, 'ports[0].direction'],
        [6, 11, 'ports[0].port'],
        [7, 13, 'ports[0].hosts[0]'],
        [8, 11, 'ports[1].name'],
        [10, 15, 'ports[1].protocol'],
        [11, 16, 'ports[1].port[1]'],
      ],
    );
    assert.match(issues[0]?.message ?? '', /expected one of "inbound"\|"outbound"\|"multicast", got "inbnd"/);
    assert.match(issues[1]?.message ?? '', /port 70000 is outside 1-65535/);
  });

  it('lists every YAML syntax error, in file order', () => {
    try {
      parseManifest('name: m\nports: [\n  - a: b\n c: : d\n', 'bad.yaml');
      assert.fail('expected a syntax error');
    } catch (error) {
      assert.ok(error instanceof PortholeError && error.code === 'E_MANIFEST_SYNTAX', String(error));
      const errors = error.data?.errors as { line: number; column: number }[];
      assert.ok(errors.length >= 2, JSON.stringify(errors));
      const positions = errors.map((e) => e.line * 1000 + e.column);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
      assert.equal(error.data?.line, errors[0]?.line);
    }
  });
});
