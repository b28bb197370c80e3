/** A command's FILE|PORTS argument: a manifest file when one exists there, else a port spec. */
import { existsSync } from 'node:fs';
import { PortholeError } from '../errors/index.js';
import { manifestFromPorts } from './fromPorts.js';
import { loadManifest } from './parse.js';
import type { Manifest } from './types.js';

/** Looks like a file name rather than ports (has a path separator or a manifest extension). */
function looksLikeFile(argument: string): boolean {
  return /[\\/]/.test(argument) || /\.(ya?ml|json)$/i.test(argument);
}

/** Loads FILE as a manifest, or reads PORTS as inbound entries. */
export async function loadManifestOrPorts(argument: string, options: { expose?: boolean } = {}): Promise<Manifest> {
  if (existsSync(argument) || looksLikeFile(argument)) return loadManifest(argument);
  try {
    return manifestFromPorts(argument, options);
  } catch (error) {
    if (error instanceof PortholeError) {
      throw new PortholeError('E_PORT_SPEC', {
        detail: `${error.detail ?? argument} (and no file is named ${JSON.stringify(argument)})`,
        data: { spec: argument },
      });
    }
    throw error;
  }
}
