/** A loopback TCP port with nothing listening on it: bind to port 0, note the port, close. */
import { type AddressInfo, createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (free when returned; tests use it at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
