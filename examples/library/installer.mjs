// A vendor's installer that opens its server's port: the host firewall rules it would add, a
// router mapping, and a check from outside before the server even runs (porthole answers on
// the port itself, with a proof that the port reaches this machine).
//
//   PORTHOLE_CHECKER=http://checker.example.net:8080 node installer.mjs 7001
import { checkReachable, isPortholeError, mapPort, planFirewall } from 'porthole';

const port = Number(process.argv[2] ?? 7001);
const signal = AbortSignal.timeout(60_000);

try {
  const { files } = await planFirewall({ ports: `${port}/tcp`, target: 'nftables', signal });
  console.error(`host firewall rules to install:\n${files.map((f) => f.content).join('\n')}`);

  const mapping = await mapPort({ port, description: `example-server ${port}`, signal });
  console.error(`router: ${mapping.externalIp}:${mapping.externalPort} -> this host:${port} via ${mapping.method}`);

  const check = await checkReachable({ ports: port, listen: true, signal });
  console.log(JSON.stringify({ mapping, reachable: check.reachable, results: check.results }));
  process.exitCode = check.reachable ? 0 : 1;
} catch (error) {
  // Errors from porthole carry a stable code and a hint (docs/errors.md).
  if (!isPortholeError(error)) throw error;
  console.log(JSON.stringify({ error: { code: error.code, message: error.message, hint: error.hint } }));
  process.exitCode = error.kind === 'usage' ? 2 : 3;
}
