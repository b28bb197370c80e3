/**
 * The name service: a dyndns2 endpoint (GET /nic/update) for `porthole serve`, so a vendor can
 * hand out names under its zone. A user sets only the names it owns, only to the address it
 * calls from (unless trusted to name another), and the change goes to the zone's primary by
 * RFC 2136, only when the authoritative answer differs. Answers are dyndns2's, so ddclient and
 * routers' DDNS pages work unchanged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPortholeError, PortholeError } from '../errors/index.js';
import { type Cidr, formatIp, isIpLiteral, parseIp } from '../net/index.js';
import { isInZone, normalizeName } from './dnsName.js';
import type { Dyndns2Answer } from './dyndns2.js';
import { readTsigKeyFile } from './keyFile.js';
import { queryAuthoritative } from './query.js';
import { type DnsServer, parseDnsServer } from './transport.js';
import type { TsigKey } from './tsig.js';
import { UpdateBatcher } from './updateBatch.js';
import { replaceRRset } from './updateCodec.js';
import { type NameUser, readUsersFile, UserDirectory } from './users.js';

/** Settings of the name service. */
export interface NameServiceOptions {
  /** The zone names are handed out in. */
  readonly zone: string;
  /** The zone's primary, which takes RFC 2136 updates signed with `key`. */
  readonly server: DnsServer;
  readonly key: TsigKey;
  readonly users: readonly NameUser[];
  /** Who is calling (the check service's caller address, proxies considered). */
  readonly callerOf: (request: FastifyRequest) => string;
  /** Requests per user, and per caller address, per minute (default 60). */
  readonly requestsPerMinute?: number;
  /** Names one request may carry (dyndns2's numhost above it; default 20). */
  readonly maxHostsPerRequest?: number;
  /** TTL of the records written (default 60 s). */
  readonly ttl?: number;
  /** Where to log each decision (never a password). */
  readonly log?: (entry: Record<string, unknown>) => void;
}

/** A fixed-window counter per key, pruned as windows pass. */
class WindowCounter {
  readonly #counts = new Map<string, { start: number; count: number }>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Counts one request for `key`; false when over the limit. */
  take(key: string, now = Date.now()): boolean {
    if (this.#counts.size > 50_000) {
      for (const [k, v] of this.#counts) if (now - v.start >= this.windowMs) this.#counts.delete(k);
    }
    const entry = this.#counts.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      this.#counts.set(key, { start: now, count: 1 });
      return true;
    }
    entry.count++;
    return entry.count <= this.limit;
  }
}

function basicAuth(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const text = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Registers GET /nic/update on `app`. */
export function registerNameService(app: FastifyInstance, options: NameServiceOptions): void {
  const directory = new UserDirectory(options.users);
  const perMinute = options.requestsPerMinute ?? 60;
  const limiter = new WindowCounter(perMinute, 60_000);
  const maxHosts = options.maxHostsPerRequest ?? 20;
  // One change at a time per name: two racing requests must not both decide from the old answer.
  const queues = new Map<string, Promise<unknown>>();
  const batcher = new UpdateBatcher(options.server, options.key, options.zone);
  const log = options.log ?? (() => {});

  async function setName(name: string, address: string): Promise<'good' | 'nochg' | 'dnserr'> {
    const type = parseIp(address).family === 4 ? 'A' : 'AAAA';
    const previous = queues.get(name) ?? Promise.resolve();
    const run = previous.then(async () => {
      try {
        const now = await queryAuthoritative(options.server, name, type);
        if (now.addresses.length === 1 && now.addresses[0] === address) return 'nochg' as const;
        await batcher.submit(replaceRRset(name, type, [address], options.ttl ?? 60));
        return 'good' as const;
      } catch (error) {
        log({ name, address, error: isPortholeError(error) ? error.code : String(error) });
        return 'dnserr' as const;
      }
    });
    const settled = run.finally(() => {
      if (queues.get(name) === settled) queues.delete(name);
    });
    queues.set(name, settled);
    return run;
  }

  const answer = (reply: FastifyReply, status: number, lines: string[]) =>
    reply
      .status(status)
      .header('content-type', 'text/plain; charset=utf-8')
      .send(`${lines.join('\n')}\n`);

  app.get('/nic/update', async (request, reply) => {
    const caller = options.callerOf(request);
    const query = request.query as Record<string, unknown>;
    const agent = request.headers['user-agent'];
    if (!agent || agent.length > 256) return answer(reply, 200, ['badagent']);
    const credentials = basicAuth(request.headers.authorization);
    if (!credentials) {
      reply.header('www-authenticate', 'Basic realm="porthole name service"');
      return answer(reply, 401, ['badauth']);
    }
    // Limits before scrypt, so guessing passwords costs the guesser, not the service.
    if (!limiter.take(`ip:${caller}`) || !limiter.take(`user:${credentials.user}`)) {
      reply.header('retry-after', '60');
      log({ caller, user: credentials.user, answer: '911', reason: 'rate limit' });
      return answer(reply, 429, ['911']);
    }
    const user = await directory.authenticate(credentials.user, credentials.password);
    if (!user) {
      log({ caller, user: credentials.user, answer: 'badauth' });
      return answer(reply, 200, ['badauth']);
    }
    const hostnames = typeof query.hostname === 'string' ? query.hostname.split(',').map((h) => h.trim()) : [];
    if (hostnames.length === 0 || hostnames.some((h) => h === '')) return answer(reply, 200, ['notfqdn']);
    if (hostnames.length > maxHosts) return answer(reply, 200, ['numhost']);
    const given = typeof query.myip === 'string' && query.myip !== '' ? query.myip : undefined;
    // dyndns2 has no word for a bad address; providers answer notfqdn for a malformed request.
    if (given !== undefined && !isIpLiteral(given)) return answer(reply, 200, ['notfqdn']);
    // One spelling per address, so "2001:DB8::1" and the caller's "2001:db8::1" compare equal.
    const myip = given === undefined ? undefined : formatIp(parseIp(given));
    const address = myip ?? caller;
    const lines: string[] = [];
    for (const hostname of hostnames) {
      const decision = decide(user, hostname, address, caller);
      if (decision !== 'ok') {
        lines.push(decision);
        log({ caller, user: user.user, hostname, answer: decision });
        continue;
      }
      const result = await setName(normalizeName(hostname), address);
      lines.push(result === 'dnserr' ? 'dnserr' : `${result} ${address}`);
      log({ caller, user: user.user, hostname, address, answer: result });
    }
    return answer(reply, 200, lines);
  });

  /** Whether this user may set this name to this address; a dyndns2 answer when not. */
  function decide(user: NameUser, hostname: string, address: string, caller: string): 'ok' | Dyndns2Answer {
    let name: string;
    try {
      name = normalizeName(hostname);
    } catch {
      return 'notfqdn';
    }
    if (!name.includes('.')) return 'notfqdn';
    if (!isInZone(name, options.zone)) return 'nohost';
    const owner = directory.ownerOf(name);
    if (owner === undefined) return 'nohost';
    if (owner !== user.user) return '!yours';
    // Only trusted users may point a name at an address other than the one they call from.
    if (!user.trusted && address !== caller) return '!yours';
    return 'ok';
  }
}

/** What `porthole serve --dns-zone ... --dns-server ... --tsig-key ... --dns-users ...` names. */
export interface NameServiceFiles {
  readonly zone: string;
  readonly server: string | undefined;
  readonly keyFile: string | undefined;
  readonly usersFile: string | undefined;
  readonly trustProxy: readonly Cidr[];
  /** Requests per user and per caller per minute. */
  readonly requestsPerMinute?: number;
}

/**
 * Reads the key and users files and returns what registers the endpoint on the check service's
 * app; E_USAGE when a flag is missing, the files' own codes when they cannot be used.
 */
export async function nameServiceFromFiles(files: NameServiceFiles): Promise<(app: FastifyInstance) => void> {
  if (!files.server || !files.keyFile || !files.usersFile) {
    throw new PortholeError('E_USAGE', {
      detail: '--dns-zone needs --dns-server ADDR, --tsig-key FILE and --dns-users FILE',
    });
  }
  const zone = normalizeName(files.zone);
  const server = parseDnsServer(files.server, '--dns-server');
  const key = await readTsigKeyFile(files.keyFile);
  const users = await readUsersFile(files.usersFile, zone);
  const { callerAddress } = await import('../net/index.js');
  return (app) =>
    registerNameService(app, {
      zone,
      server,
      key,
      users,
      callerOf: (request) =>
        callerAddress(request.socket.remoteAddress ?? '0.0.0.0', request.headers['x-forwarded-for'], files.trustProxy),
      log: (entry) => app.log.info({ names: entry }, 'name service'),
      ...(files.requestsPerMinute ? { requestsPerMinute: files.requestsPerMinute } : {}),
    });
}
