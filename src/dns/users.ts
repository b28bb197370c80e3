/**
 * The name service's users: who may set which names, with scrypt-hashed passwords (node:crypto,
 * RFC 7914). The file is JSON, kept 0600; a file others can read is refused, since even hashed
 * passwords should not be offered to offline guessing.
 *
 *   {"users": [{"user": "alice", "password": "scrypt$16384$8$1$SALT$HASH",
 *               "names": ["alice.dyn.example.net"], "trusted": false}]}
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { PortholeError } from '../errors/index.js';
import { isInZone, normalizeName } from './dnsName.js';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** scrypt cost: N=2^14, r=8, p=1 (RFC 7914's interactive-login figures), 32-byte hash. */
const COST = { N: 16_384, r: 8, p: 1 } as const;
const HASH_BYTES = 32;
/** A checked password is remembered this long, so a busy client does not pay scrypt each time. */
const VERIFIED_TTL_MS = 10 * 60_000;

/** One user of the name service. */
export interface NameUser {
  readonly user: string;
  /** scrypt$N$r$p$salt$hash, base64 parts. */
  readonly password: string;
  /** Names this user may set (full names, inside the zone). */
  readonly names: readonly string[];
  /** May set its names to any address, not only the address it calls from. */
  readonly trusted: boolean;
}

function usersError(detail: string, cause?: unknown): PortholeError {
  return new PortholeError('E_DNS_USERS_FILE', { detail, ...(cause === undefined ? {} : { cause }) });
}

/** Hashes a password for the users file. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, HASH_BYTES, { ...COST, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether `password` matches a stored `scrypt$...` string (constant-time comparison). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (![cost.N, cost.r, cost.p].every(Number.isInteger) || expected.length < 16) return false;
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, {
    ...cost,
    maxmem: 256 * cost.N * cost.r + 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

/** Parses and checks a users file's text against the zone. */
export function parseUsers(text: string, zone: string, source = 'users file'): NameUser[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usersError(`${source}: not JSON (${(error as Error).message})`, error);
  }
  const list = (parsed as { users?: unknown })?.users;
  if (!Array.isArray(list)) throw usersError(`${source}: no "users" list`);
  const owners = new Map<string, string>();
  return list.map((entry: unknown, index) => {
    const e = entry as Partial<Record<keyof NameUser, unknown>>;
    const where = `${source}: users[${index}]`;
    if (typeof e.user !== 'string' || !/^[A-Za-z0-9._@-]{1,64}$/.test(e.user)) throw usersError(`${where}: bad "user"`);
    if (typeof e.password !== 'string' || !e.password.startsWith('scrypt$')) {
      throw usersError(`${where}: "password" must be an scrypt hash (porthole name hash-password)`);
    }
    if (!Array.isArray(e.names) || !e.names.every((n) => typeof n === 'string')) {
      throw usersError(`${where}: "names" must be a list of names`);
    }
    const names = (e.names as string[]).map((n) => {
      let name: string;
      try {
        name = normalizeName(n);
      } catch (error) {
        // E_DNS_NAME's hint speaks of a name typed on the command line; this one is in the file.
        throw usersError(`${where}: ${JSON.stringify(n)} is not a DNS name`, error);
      }
      if (!isInZone(name, zone) || name === zone) throw usersError(`${where}: ${name} is not inside ${zone}`);
      const owner = owners.get(name);
      if (owner !== undefined && owner !== e.user) throw usersError(`${where}: ${name} is also ${owner}'s`);
      owners.set(name, e.user as string);
      return name;
    });
    return { user: e.user, password: e.password, names, trusted: e.trusted === true };
  });
}

/** Reads the users file, refusing one that group or others may read or write. */
export async function readUsersFile(path: string, zone: string): Promise<NameUser[]> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw usersError(`${path} is mode ${(info.mode & 0o777).toString(8)}; run chmod 600 ${path}`);
    }
    return parseUsers(await readFile(path, 'utf8'), zone, path);
  } catch (error) {
    if (error instanceof PortholeError) throw error;
    throw usersError(`${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, error);
  }
}

/** Who owns what, and password checks with a short memory of successes. */
export class UserDirectory {
  readonly #byUser: Map<string, NameUser>;
  readonly #ownerOf = new Map<string, string>();
  /** HMAC key for the cache of verified passwords: the cache never holds a password. */
  readonly #cacheKey = randomBytes(32);
  readonly #verified = new Map<string, number>();
  /** Stands in for unknown users, so their answer takes as long as a wrong password. */
  readonly #decoy: Promise<string> = hashPassword(randomBytes(16).toString('hex'));

  constructor(users: readonly NameUser[]) {
    this.#byUser = new Map(users.map((u) => [u.user, u]));
    for (const u of users) for (const name of u.names) this.#ownerOf.set(name, u.user);
  }

  /** The user when the password is right, else undefined. */
  async authenticate(user: string, password: string): Promise<NameUser | undefined> {
    const entry = this.#byUser.get(user);
    const tag = createHmac('sha256', this.#cacheKey).update(`${user}\0${password}`).digest('hex');
    const until = this.#verified.get(tag);
    if (entry && until !== undefined && until > Date.now()) return entry;
    const ok = await verifyPassword(password, entry?.password ?? (await this.#decoy));
    if (!entry || !ok) return undefined;
    if (this.#verified.size > 10_000) this.#verified.clear();
    this.#verified.set(tag, Date.now() + VERIFIED_TTL_MS);
    return entry;
  }

  /** Who owns a name, if anyone. */
  ownerOf(name: string): string | undefined {
    return this.#ownerOf.get(name);
  }
}
