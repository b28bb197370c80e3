/** The venue topology: only the configured outbound TCP ports (and DNS) leave the network. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { connect, labSkip, listen, nmapStates, useLab } from './support.js';

describe('lab: venue topology letting out 80, 443 and 745', { skip: labSkip() }, () => {
  const env = useLab({ topology: 'venue', egressTcpPorts: [80, 443, 745] });
  before(async () => {
    for (const port of [80, 745, 8080]) await listen(env.lab, 'internet', port, `internet-${port}`);
  });

  it('an allowed outbound port connects', async () => {
    const attempt = await connect(env.lab, 'lan', env.lab.addresses.internet, 745);
    assert.equal(attempt.outcome, 'connected', attempt.detail);
    assert.equal(attempt.data, 'internet-745');
  });

  it('a blocked outbound port times out even though the internet host listens on it', async () => {
    const attempt = await connect(env.lab, 'lan', env.lab.addresses.internet, 8080);
    assert.equal(attempt.outcome, 'timeout', attempt.detail);
    const direct = await connect(env.lab, 'router', env.lab.addresses.internet, 8080);
    assert.equal(direct.outcome, 'connected', 'the router itself is not filtered: the block is the venue policy');
  });

  it('nmap -sT from the LAN agrees: allowed ports answer (open or closed), blocked ones are filtered', async () => {
    const states = await nmapStates(env.lab, 'lan', env.lab.addresses.internet, '80,443,745,8080,22');
    assert.equal(states.get(80), 'open');
    assert.equal(states.get(745), 'open');
    assert.equal(states.get(443), 'closed', 'allowed out, nothing listening: a RST comes back');
    assert.equal(states.get(8080), 'filtered');
    assert.equal(states.get(22), 'filtered');
  });
});
