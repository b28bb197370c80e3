import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mappingStatePath, readMappingState, recordMapping } from '../../src/gateway/index.js';
import { portholeFolder, systemConfigFile, takeQuarantinedStateFiles } from '../../src/system/index.js';
import { runCliCaptured } from '../support/cli.js';

describe("porthole's folders on each system", () => {
  it('Linux follows XDG, and an empty variable counts as unset', () => {
    const env = { HOME: '/home/ana', XDG_STATE_HOME: '', XDG_DATA_HOME: '/data' };
    assert.equal(portholeFolder('state', env, { platform: 'linux' }), '/home/ana/.local/state/porthole');
    assert.equal(portholeFolder('data', env, { platform: 'linux' }), '/data/porthole');
    assert.equal(portholeFolder('config', env, { platform: 'linux' }), '/home/ana/.config/porthole');
  });

  it('Windows keeps state in %LOCALAPPDATA% and configuration in %APPDATA%', () => {
    const env = {
      USERPROFILE: 'C:\\Users\\ana',
      APPDATA: 'C:\\Users\\ana\\AppData\\Roaming',
      LOCALAPPDATA: 'C:\\Users\\ana\\AppData\\Local',
    };
    assert.equal(portholeFolder('state', env, { platform: 'win32' }), 'C:\\Users\\ana\\AppData\\Local\\porthole');
    assert.equal(portholeFolder('config', env, { platform: 'win32' }), 'C:\\Users\\ana\\AppData\\Roaming\\porthole');
    assert.equal(portholeFolder('data', env, { platform: 'win32' }), 'C:\\Users\\ana\\AppData\\Local\\porthole\\data');
    // Without the variables (a service account's bare environment), from the profile folder.
    assert.equal(
      portholeFolder('config', { USERPROFILE: 'C:\\Users\\svc' }, { platform: 'win32' }),
      'C:\\Users\\svc\\AppData\\Roaming\\porthole',
    );
    assert.equal(systemConfigFile({ ProgramData: 'D:\\PD' }, 'win32'), 'D:\\PD\\porthole\\config.yaml');
  });

  it('macOS keeps everything under ~/Library/Application Support/porthole', () => {
    const env = { HOME: '/Users/ana' };
    assert.equal(
      portholeFolder('config', env, { platform: 'darwin' }),
      '/Users/ana/Library/Application Support/porthole',
    );
    assert.equal(
      portholeFolder('state', env, { platform: 'darwin' }),
      '/Users/ana/Library/Application Support/porthole/state',
    );
    assert.equal(systemConfigFile({}, 'darwin'), '/Library/Application Support/porthole/config.yaml');
  });

  it("an environment naming no home gets no folder, not the process's own", () => {
    assert.equal(portholeFolder('config', {}, { platform: 'linux' }), undefined);
  });
});

describe('a damaged state file is moved aside, reported, and never overwritten', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'porthole-state-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('mappings.json that does not parse is kept aside; the next record starts a new file', () => {
    const env = { XDG_STATE_HOME: dir };
    const path = mappingStatePath(env);
    recordMapping(path, {
      method: 'pcp',
      gateway: '192.168.77.1',
      protocol: 'tcp',
      internalAddress: '192.168.77.10',
      internalPort: 7001,
      externalPort: 7001,
      externalIp: '203.0.113.1',
      lifetime: 3600,
    });
    const damaged = `${readFileSync(path, 'utf8').slice(0, 40)}`;
    writeFileSync(path, damaged);
    assert.deepEqual(readMappingState(path), []);
    const aside = readdirSync(join(dir, 'porthole')).filter((name) => name.startsWith('mappings.json.corrupt-'));
    assert.equal(aside.length, 1);
    assert.equal(readFileSync(join(dir, 'porthole', aside[0] as string), 'utf8'), damaged);
    recordMapping(path, {
      method: 'upnp',
      gateway: '192.168.77.1',
      protocol: 'udp',
      internalAddress: '192.168.77.10',
      internalPort: 7002,
      externalPort: 7002,
      externalIp: '203.0.113.1',
      lifetime: 0,
    });
    assert.equal(readMappingState(path).length, 1);
    assert.equal(readFileSync(join(dir, 'porthole', aside[0] as string), 'utf8'), damaged, 'the damaged copy stays');
  });

  it('a file of the wrong shape is moved aside too, and the next command says so once on stderr', async () => {
    const path = join(dir, 'cli', 'mappings.json');
    rmSync(join(dir, 'cli'), { recursive: true, force: true });
    recordMapping(path, {
      method: 'natpmp',
      gateway: '192.168.77.1',
      protocol: 'tcp',
      internalAddress: '192.168.77.10',
      internalPort: 7003,
      externalPort: 7003,
      externalIp: '203.0.113.1',
      lifetime: 60,
    });
    writeFileSync(path, '{"mappings": "not a list"}');
    assert.deepEqual(readMappingState(path), []);
    const first = await runCliCaptured(['config', 'path'], { env: { XDG_CONFIG_HOME: dir } });
    assert.match(
      first.stderr,
      /state file .*cli\/mappings\.json could not be read \(not the shape porthole writes\): moved aside to .*corrupt-/,
    );
    assert.ok(!existsSync(path), 'the damaged file is no longer where porthole would overwrite it');
    const second = await runCliCaptured(['config', 'path'], { env: { XDG_CONFIG_HOME: dir } });
    assert.doesNotMatch(second.stderr, /could not be read/);
    assert.deepEqual(takeQuarantinedStateFiles(), []);
  });
});
