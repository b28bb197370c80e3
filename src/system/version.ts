/** porthole's version, read from its package.json. */
import { readFileSync } from 'node:fs';

/**
 * The version in package.json. The file sits two levels up from src/system when run from source
 * and three from dist/src/cli when built, so we walk up until we find ours.
 */
export function packageVersion(): string {
  let url = new URL('.', import.meta.url);
  for (let depth = 0; depth < 5; depth++) {
    url = new URL('..', url);
    try {
      const manifest = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'porthole' && manifest.version) return manifest.version;
    } catch {
      // Not at this level; keep walking up.
    }
  }
  return '0.0.0-unknown';
}
