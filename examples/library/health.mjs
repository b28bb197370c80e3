// A health endpoint that reports whether the server is reachable from the internet, as a check
// service outside the network sees it. GET /health answers 200 when reachable, 503 when not.
//
//   PORTHOLE_CHECKER=http://checker.example.net:8080 node health.mjs 7003
import { createServer } from 'node:http';
import { checkReachable, isPortholeError } from 'porthole';

const port = Number(process.argv[2] ?? 7003);

const server = createServer(async (request, response) => {
  if (request.url !== '/health') {
    response.end('the example server\n');
    return;
  }
  response.setHeader('content-type', 'application/json');
  try {
    // A deadline per request, and the client going away cancels the check.
    const signal = AbortSignal.any([AbortSignal.timeout(20_000), abortedWhenClosed(request)]);
    const check = await checkReachable({ ports: port, signal });
    response.statusCode = check.reachable ? 200 : 503;
    response.end(JSON.stringify({ reachable: check.reachable, publicAddress: check.target, results: check.results }));
  } catch (error) {
    response.statusCode = 500;
    const body = isPortholeError(error) ? { code: error.code, message: error.message } : { message: String(error) };
    response.end(JSON.stringify({ reachable: null, error: body }));
  }
});

function abortedWhenClosed(request) {
  const controller = new AbortController();
  request.socket.once('close', () => controller.abort());
  return controller.signal;
}

server.listen(port, () => console.error(`listening on ${port}; GET /health`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close());
