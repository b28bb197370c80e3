import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { settleOnce, sleep, throwIfAborted, withDeadline } from '../../src/deadline/index.js';
import { PortholeError } from '../../src/errors/index.js';

describe('withDeadline', () => {
  it('aborts with E_TIMEOUT naming the operation when the deadline passes', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const signal = withDeadline(undefined, 250, 'SSDP search');
      assert.equal(signal.aborted, false);
      mock.timers.tick(249);
      assert.equal(signal.aborted, false);
      mock.timers.tick(1);
      assert.equal(signal.aborted, true);
      assert.ok(signal.reason instanceof PortholeError);
      assert.equal(signal.reason.code, 'E_TIMEOUT');
      assert.match(signal.reason.message, /SSDP search took longer than 250 ms/);
    } finally {
      mock.timers.reset();
    }
  });

  it('follows the parent signal and keeps its reason', () => {
    const parent = new AbortController();
    const signal = withDeadline(parent.signal, 60_000);
    const reason = new Error('user pressed Ctrl-C');
    parent.abort(reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
  });

  it('refuses a negative deadline', () => {
    assert.throws(() => withDeadline(undefined, -1), RangeError);
  });
});

describe('settleOnce', () => {
  it('rejects at once, without starting, when the signal already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('early'));
    let started = false;
    await assert.rejects(
      settleOnce(controller.signal, () => {
        started = true;
      }),
      /early/,
    );
    assert.equal(started, false);
  });

  it('runs cleanup exactly once whatever happens, and settles once', async () => {
    const controller = new AbortController();
    let cleanups = 0;
    const promise = settleOnce<number>(
      controller.signal,
      (done) => {
        done(undefined, 1);
        done(new Error('late error is ignored'));
      },
      () => cleanups++,
    );
    assert.equal(await promise, 1);
    controller.abort();
    assert.equal(cleanups, 1);
  });

  it('cleans up on abort and rejects with E_ABORTED for a plain abort()', async () => {
    const controller = new AbortController();
    let cleanups = 0;
    const promise = settleOnce(
      controller.signal,
      () => {},
      () => cleanups++,
    );
    controller.abort();
    await assert.rejects(promise, (error: unknown) => error instanceof PortholeError && error.code === 'E_ABORTED');
    assert.equal(cleanups, 1);
  });

  it('turns a throw in start into a rejection, with cleanup', async () => {
    let cleanups = 0;
    await assert.rejects(
      settleOnce(
        undefined,
        () => {
          throw new Error('bind failed');
        },
        () => cleanups++,
      ),
      /bind failed/,
    );
    assert.equal(cleanups, 1);
  });
});

describe('sleep and throwIfAborted', () => {
  it('sleep resolves after the time and rejects on abort', async () => {
    await sleep(1);
    const controller = new AbortController();
    const pending = sleep(60_000, { signal: controller.signal });
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
  });

  it('throwIfAborted throws the reason only when aborted', () => {
    throwIfAborted(undefined);
    const controller = new AbortController();
    throwIfAborted(controller.signal);
    controller.abort(new Error('gone'));
    assert.throws(() => throwIfAborted(controller.signal), /gone/);
  });
});
