/**
 * The front's Ed25519 signing key and the public half vantages verify with, as PEM files.
 * A front given a path that does not exist makes the key there (0600) and writes `PATH.pub`
 * for the vantages.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { PortholeError } from '../errors/index.js';

/** The front's key pair. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Where the public half is (for the vantages). */
  readonly publicPath: string;
  /** Whether it was made just now. */
  readonly created: boolean;
}

function asEd25519(key: KeyObject, path: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PortholeError('E_FLEET_KEY', { detail: `${path} is a ${key.asymmetricKeyType} key, not Ed25519` });
  }
  return key;
}

/** Reads the front's private key, or makes one when the file does not exist. */
export function loadOrCreateSigningKey(path: string): SigningKey {
  const publicPath = `${path}.pub`;
  if (!existsSync(path)) {
    const pair = generateKeyPairSync('ed25519');
    writeFileSync(path, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    writeFileSync(publicPath, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    return { ...pair, publicPath, created: true };
  }
  try {
    const privateKey = asEd25519(createPrivateKey(readFileSync(path)), path);
    const publicKey = createPublicKey(privateKey);
    if (!existsSync(publicPath)) writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
    return { privateKey, publicKey, publicPath, created: false };
  } catch (error) {
    if (error instanceof PortholeError) throw error;
    throw new PortholeError('E_FLEET_KEY', { detail: `${path}: ${(error as Error).message}`, cause: error });
  }
}

/** Reads the front's public key (PEM, SPKI) a vantage verifies orders with. */
export function loadFrontPublicKey(path: string): KeyObject {
  try {
    return asEd25519(createPublicKey(readFileSync(path)), path);
  } catch (error) {
    if (error instanceof PortholeError) throw error;
    throw new PortholeError('E_FLEET_KEY', { detail: `${path}: ${(error as Error).message}`, cause: error });
  }
}
