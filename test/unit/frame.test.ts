import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exitCodeFor, isPortholeError, PortholeError, toPortholeError } from '../../src/errors/index.js';
import { runCliCaptured } from '../support/cli.js';

const run = runCliCaptured;

/** A loopback server that accepts and never answers: a checker that hangs. */
let silent: Server;
let silentPort = 0;
before(async () => {
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
});
after(() => {
  silent.close();
});

describe('the frame: a missing command is a usage error', () => {
  it('`porthole --json` prints one JSON document naming the commands, exit 2', async () => {
    const { status, stdout, stderr } = await run(['--json']);
    assert.equal(status, 2);
    const { error } = JSON.parse(stdout) as { error: { code: string; commands: string[] } };
    assert.equal(error.code, 'E_USAGE');
    assert.ok(error.commands.includes('doctor') && error.commands.includes('manifest'));
    assert.equal(stderr, '', 'no help text around the JSON');
  });

  it('`porthole manifest --json` names its subcommands, exit 2', async () => {
    const { status, stdout } = await run(['manifest', '--json']);
    assert.equal(status, 2);
    const { error } = JSON.parse(stdout) as { error: { code: string; commands: string[] } };
    assert.deepEqual(error.commands, ['validate', 'show']);
  });

  it('`porthole help` and `--help`, asked for, still exit 0', async () => {
    assert.equal((await run(['help'])).status, 0);
    assert.equal((await run(['--help'])).status, 0);
    assert.equal((await run(['probe', '--help'])).status, 0);
  });

  it('`porthole manifest` prints the help and exits 2, not 0', async () => {
    const { status, stderr } = await run(['manifest']);
    assert.equal(status, 2);
    assert.match(stderr, /Usage: porthole manifest/);
    assert.match(stderr, /E_USAGE/);
  });
});

describe('the frame: interrupts', () => {
  it('an aborted command ends with E_ABORTED and 130, on one line, not as an internal error', async () => {
    const controller = new AbortController();
    setTimeout(
      () => controller.abort(new PortholeError('E_ABORTED', { detail: 'interrupted by SIGINT' })),
      300,
    ).unref();
    const { status, stderr } = await run(['check', '7001', '--checker', `http://127.0.0.1:${silentPort}`], {
      signal: controller.signal,
    });
    assert.equal(status, 130);
    assert.equal(stderr, 'E_ABORTED: The operation was cancelled: interrupted by SIGINT\n');
  });

  it('a bare abort() (an AbortError reason) is E_ABORTED too, with --json', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300).unref();
    const { status, stdout } = await run(['check', '7001', '--json', '--checker', `http://127.0.0.1:${silentPort}`], {
      signal: controller.signal,
    });
    assert.equal(status, 130);
    assert.equal((JSON.parse(stdout) as { error: { code: string } }).error.code, 'E_ABORTED');
  });

  for (const signal of ['SIGINT', 'SIGHUP'] as const)
    it(`${signal} to the real process (Ctrl-C; a closed terminal or console window): exit 130 and E_ABORTED`, async () => {
      // Its own silent server, so the first connection is the child's request.
      const server = createServer(() => {});
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      const connected = new Promise((resolve) => server.once('connection', resolve));
      const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', main, 'check', '7001', '--json', '--checker', `http://127.0.0.1:${port}`],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      // Interrupt once the request is in flight (bounded: the test fails rather than hangs).
      await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      server.close();
      assert.equal(code, 130);
      const { error } = JSON.parse(out) as { error: { code: string; message: string } };
      assert.equal(error.code, 'E_ABORTED');
      assert.match(error.message, new RegExp(signal));
    });

  it('AbortError and TimeoutError from the platform map onto E_ABORTED (130) and E_TIMEOUT', () => {
    const aborted = toPortholeError(new DOMException('This operation was aborted', 'AbortError'));
    assert.equal(aborted.code, 'E_ABORTED');
    assert.equal(exitCodeFor(aborted), 130);
    assert.equal(toPortholeError(new DOMException('timed out', 'TimeoutError')).code, 'E_TIMEOUT');
  });
});

describe('the frame: --verbose', () => {
  it('adds the chain of causes to the error output', async () => {
    // A port that was just free: connection refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const { status, stderr } = await run(['check', '7001', '-v', '--checker', `http://127.0.0.1:${port}`]);
    assert.equal(status, 3);
    assert.match(stderr, /E_CHECKER_UNREACHABLE/);
    assert.match(stderr, /^cause: .*ECONNREFUSED/m, 'the socket error that stopped it');
  });
});

describe('PortholeError across two installed copies', () => {
  it('an error from another copy of the module is recognised by instanceof and isPortholeError', async () => {
    // A query string makes the loader evaluate the module again: a second copy, as two installs give.
    const other = (await import(
      `${new URL('../../src/errors/index.ts', import.meta.url).href}?copy=2`
    )) as typeof import('../../src/errors/index.js');
    assert.notEqual(other.PortholeError, PortholeError, 'really a second copy');
    const foreign = new other.PortholeError('E_PORT_SPEC');
    assert.ok(foreign instanceof PortholeError);
    assert.ok(isPortholeError(foreign));
    assert.equal(toPortholeError(foreign), foreign, 'not wrapped as internal');
    assert.equal(exitCodeFor(foreign), 2);
    assert.ok(!(new Error('x') instanceof PortholeError));
    assert.equal(Object.keys(new PortholeError('E_USAGE')).includes('Symbol(porthole.error)'), false);
  });
});
