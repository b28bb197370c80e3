/** The HTTP server porthole's services (the check service, the fleet's front) answer the internet with. */
import { createServer, type RequestListener } from 'node:http';

/**
 * The HTTP server of a service on the open internet: a client that sends its request slower than
 * 10 s for the headers (15 s in all) is closed, checked every second, instead of holding a
 * descriptor for Node's defaults (60 s headers, checked every 30 s: 60 to 90 s, seen in the soak).
 */
export const publicServer = (handler: RequestListener) =>
  createServer(
    { headersTimeout: 10_000, requestTimeout: 15_000, connectionsCheckingInterval: 1000, keepAliveTimeout: 5000 },
    handler,
  );
