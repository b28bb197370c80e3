// A server that keeps its port mapped while it runs and logs what the router does: renewals,
// re-made mappings after a router restart, and the removal when it stops (Ctrl-C or SIGTERM).
//
//   node keeper.mjs 7002 [LEASE_SECONDS [upnp|natpmp|pcp]]
import { createServer } from 'node:http';
import { keepPortMapped } from 'porthole';

const port = Number(process.argv[2] ?? 7002);
const lifetimeSeconds = Number(process.argv[3] ?? 3600);
// Routers may raise a short lease (miniupnpd's PCP minimum is 120 s); NAT-PMP grants what is asked.
const via = process.argv[4];
const log = (event, fields) => console.log(JSON.stringify({ at: new Date().toISOString(), event, ...fields }));

const server = createServer((_, response) => response.end('hello from the example server\n'));
await new Promise((resolve) => server.listen(port, resolve));

const keeper = await keepPortMapped({ port, lifetimeSeconds, via, description: `example-server ${port}` });
const where = (m) => `${m.externalIp}:${m.externalPort}/${m.protocol} via ${m.method}`;
log('mapped', { mapping: where(keeper.mapping), lifetime: keeper.mapping.lifetime });
keeper.on('renewed', (m) => log('renewed', { mapping: where(m) }));
keeper.on('remapped', (m, evidence) => log('remapped', { mapping: where(m), evidence }));
keeper.on('lost', (error) => log('lost', { code: error.code, message: error.message }));
keeper.on('removed', (m) => log('removed', { mapping: where(m) }));
keeper.on('error', (error) => log('error', { code: error.code, message: error.message }));

const stop = async (signal) => {
  log('stopping', { signal });
  // close() removes the mapping; `await using keeper = ...` does the same where the syntax exists.
  try {
    await keeper.close();
  } catch {
    // Already logged by the 'error' listener; the mapping stays recorded for `porthole cleanup`.
    process.exitCode = 3;
  }
  server.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
