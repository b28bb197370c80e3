/**
 * The front's scatter-gather and its timers, over an in-memory message bus that delivers like
 * NATS core (subjects, `inbox.*` wildcards, reply subjects): answers, silence (re-sent, then
 * unknown), a vantage busy past the deadline, the server's 503 "no responders", a stray reply.
 * Timers are real but short (tens of ms); assertions are on what was sent and concluded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { encodeReply } from '../../src/fleet/codec.js';
import { gather } from '../../src/fleet/gather.js';
import type { VantageReply } from '../../src/fleet/types.js';

type Handler = (order: { subject: string; reply: string }, respond: (reply: VantageReply | 503) => void) => void;

/** A bus with one handler per order subject, standing in for the vantages behind nats-server. */
function bus(handlers: Record<string, Handler>) {
  const subscriptions = new Map<string, (msg: Msg) => void>();
  const sent: string[] = [];
  const deliver = (subject: string, data: Uint8Array, code?: number) => {
    for (const [pattern, callback] of subscriptions) {
      const matches = pattern.endsWith('.*')
        ? subject.startsWith(pattern.slice(0, -1)) && !subject.slice(pattern.length - 1).includes('.')
        : subject === pattern;
      if (matches) {
        callback({ subject, data, headers: code ? { code } : undefined } as unknown as Msg);
      }
    }
  };
  const nc = {
    subscribe(subject: string, options: { callback: (error: unknown, msg: Msg) => void }) {
      subscriptions.set(subject, (msg) => options.callback(null, msg));
      return { unsubscribe: () => subscriptions.delete(subject) };
    },
    publish(subject: string, _data: Uint8Array, options: { reply: string }) {
      sent.push(subject);
      const handler = handlers[subject];
      const respond = (reply: VantageReply | 503) =>
        setImmediate(() =>
          reply === 503 ? deliver(options.reply, new Uint8Array(), 503) : deliver(options.reply, encodeReply(reply)),
        );
      if (handler) handler({ subject, reply: options.reply }, respond);
      else respond(503);
    },
  } as unknown as NatsConnection;
  return { nc, sent, open: () => subscriptions.size };
}

const vantage = (name: string) => ({ name, region: name });
const target = (name: string) => ({ subject: `porthole.check.region.${name}`, name, region: name });
const result = (id: string, name: string): VantageReply => ({
  kind: 'result',
  id,
  vantage: vantage(name),
  results: [{ port: 7001, protocol: 'tcp', state: 'open', reason: 'syn-ack', ms: 1, verified: null }],
  ms: 1,
});

describe('fleet: scatter-gather timers', () => {
  it('an answering vantage is answered; a silent one gets the order three times, then is unknown (stalled)', async () => {
    const { nc, sent, open } = bus({
      'porthole.check.region.eu': (_order, respond) => {
        respond({ kind: 'accepted', id: 'c1', vantage: vantage('eu') });
        respond(result('c1', 'eu'));
      },
      'porthole.check.region.us': () => {},
    });
    const answers = await gather(nc, 'c1', new Uint8Array(), [target('eu'), target('us')], {
      deadlineMs: 5_000,
      stallMs: 40,
    });
    assert.deepEqual(
      answers.map((a) => [a.name, a.state, a.reason ?? null]),
      [
        ['eu', 'answered', null],
        ['us', 'unknown', 'stalled'],
      ],
    );
    assert.equal(sent.filter((s) => s.endsWith('.us')).length, 3);
    assert.equal(sent.filter((s) => s.endsWith('.eu')).length, 1);
    assert.equal(open(), 0, 'the reply subscription is gone');
  });

  it('a vantage that keeps saying it works is waited for until the deadline, then unknown (deadline)', async () => {
    const { nc } = bus({
      'porthole.check.region.ap': (_order, respond) => {
        const timer = setInterval(() => respond({ kind: 'working', id: 'c2', vantage: vantage('ap') }), 10);
        setTimeout(() => clearInterval(timer), 400);
      },
    });
    const started = performance.now();
    const [answer] = await gather(nc, 'c2', new Uint8Array(), [target('ap')], { deadlineMs: 150, stallMs: 40 });
    assert.equal(answer?.state, 'unknown');
    assert.equal(answer?.reason, 'deadline');
    assert.ok(performance.now() - started < 400);
  });

  it("the server's 503 (no responders) is silence: re-sent, and answered when a vantage appears", async () => {
    let calls = 0;
    const { nc, sent } = bus({
      'porthole.check.region.eu': (_order, respond) => {
        calls++;
        respond(calls === 1 ? 503 : result('c3', 'eu1'));
      },
    });
    const [answer] = await gather(nc, 'c3', new Uint8Array(), [target('eu')], { deadlineMs: 2_000, stallMs: 40 });
    assert.equal(answer?.state, 'answered');
    assert.equal(answer?.name, 'eu1');
    assert.equal(sent.length, 2);
  });

  it('a reply for another check is ignored; a refusal is reported with its code', async () => {
    const { nc } = bus({
      'porthole.check.region.eu': (_order, respond) => {
        respond(result('someone-else', 'eu'));
        respond({
          kind: 'refused',
          id: 'c4',
          vantage: vantage('eu'),
          error: { code: 'E_FLEET_SIGNATURE', message: 'x' },
        });
      },
    });
    const [answer] = await gather(nc, 'c4', new Uint8Array(), [target('eu')], { deadlineMs: 2_000, stallMs: 500 });
    assert.equal(answer?.state, 'refused');
    assert.equal(answer?.reason, 'E_FLEET_SIGNATURE');
  });

  it('no targets: nothing sent, nothing waited for', async () => {
    const { nc, sent } = bus({});
    assert.deepEqual(await gather(nc, 'c5', new Uint8Array(), [], { deadlineMs: 10_000, stallMs: 10_000 }), []);
    assert.equal(sent.length, 0);
  });
});
