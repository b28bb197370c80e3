/**
 * Captures the fuzz seeds of the DNS and discovery targets from real daemons in the lab (root):
 * BIND 9 and Knot answering porthole's signed UPDATE (NOERROR, NOTAUTH, BADTIME), avahi-daemon
 * answering mDNS queries, minidlna answering an SSDP M-SEARCH and wsdd a WS-Discovery Probe.
 * Each answer is written as a fixture named after its daemon and version:
 *   test/fixtures/dns/<daemon>-update-<rcode>.json   key, request MAC, clock, answer (hex)
 *   test/fixtures/discovery/<daemon>-<version>-<protocol>-<n>.hex|.xml
 *
 *   node --import tsx scripts/capture-fuzz-seeds.ts
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDiscoveryResponders } from '../lab/discovery.js';
import { DNS_ZONE, startBind, startKnot } from '../lab/dns.js';
import { startLab } from '../lab/lab.js';

const HELPER = fileURLToPath(new URL('../test/lab/fixtures/captureAnswers.ts', import.meta.url));
const DNS = new URL('../test/fixtures/dns/', import.meta.url);
const DISCOVERY = new URL('../test/fixtures/discovery/', import.meta.url);

/** The first version-looking word a daemon prints about itself. */
function version(command: string, args: string[]): string {
  const text = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return /(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1] ?? 'unknown';
}

const lab = await startLab({ topology: 'home' });
try {
  const [bind, knot] = await Promise.all([startBind(lab), startKnot(lab)]);
  const helper = async (host: 'internet' | 'lan', args: string[]) => {
    const result = await lab.exec(host, process.execPath, ['--import', 'tsx', HELPER, ...args], { timeoutMs: 20_000 });
    if (result.code !== 0) throw new Error(`${args[0]}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const name = `fuzz.${DNS_ZONE}`;
  const dnsCaptures: [string, string[]][] = [
    [`bind9-${version('named', ['-v'])}-update-noerror`, [bind.address, bind.keyFile, DNS_ZONE, name]],
    [`bind9-${version('named', ['-v'])}-update-notauth`, [bind.address, bind.keyFile, 'example.org', 'x.example.org']],
    [`bind9-${version('named', ['-v'])}-update-badtime`, [bind.address, bind.keyFile, DNS_ZONE, name, '-1000']],
    [`knot-${version('knotd', ['--version'])}-update-noerror`, [knot.address, knot.keyFile, DNS_ZONE, name]],
    [`knot-${version('knotd', ['--version'])}-update-badtime`, [knot.address, knot.keyFile, DNS_ZONE, name, '-1000']],
  ];
  for (const [file, args] of dnsCaptures) {
    const capture = await helper('internet', ['dns-update', ...args]);
    writeFileSync(new URL(`${file}.json`, DNS), `${JSON.stringify(JSON.parse(capture), null, 2)}\n`);
    process.stderr.write(`${file}: ${capture.length} chars\n`);
  }

  await startDiscoveryResponders(lab);
  const local = lab.addresses.lan;
  const daemons = {
    mdns: `avahi-${version('avahi-daemon', ['--version'])}`,
    ssdp: `minidlna-${version('minidlnad', ['-V'])}`,
    wsd: `wsdd-${version('wsdd', ['--version'])}`,
  };
  for (const protocol of ['mdns', 'ssdp', 'wsd'] as const) {
    const answers = JSON.parse(await helper('lan', [protocol, local])) as string[];
    // SSDP and WS-Discovery answers from our own responders (the ONVIF stand-in) are not the daemon's.
    const own = answers.filter((hex) => {
      const text = Buffer.from(hex, 'hex').toString('latin1');
      if (protocol === 'ssdp') return /MiniDLNA/i.test(text);
      if (protocol === 'wsd') return !/onvif/i.test(text);
      return true;
    });
    own.forEach((hex, index) => {
      const file =
        protocol === 'wsd'
          ? `${daemons.wsd}-probematches-${index + 1}.xml`
          : `${daemons[protocol]}-${protocol}-${index + 1}.hex`;
      writeFileSync(new URL(file, DISCOVERY), protocol === 'wsd' ? Buffer.from(hex, 'hex') : `${hex}\n`);
    });
    process.stderr.write(`${protocol}: ${answers.length} answers, ${own.length} from ${daemons[protocol]}\n`);
  }
} finally {
  lab.stop();
}
