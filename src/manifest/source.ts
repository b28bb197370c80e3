/** A command's FILE|PORTS argument: a manifest file when one exists there, else a port spec. */
import { existsSync } from 'node:fs';
import { PortholeError } from '../errors/index.js';
import { manifestFromPorts } from './fromPorts.js';
import { loadManifest } from './parse.js';
import type { Manifest } from './types.js';

/** Looks like a file name rather than ports (a manifest extension, or a path with a folder). */
function looksLikeFile(argument: string): boolean {
  return /\.(ya?ml|json)$/i.test(argument) || /[\\/].*[\\/]|^\.{0,2}[\\/]/.test(argument);
}

/** Loads FILE as a manifest when it exists, else reads PORTS (`7001,5353/udp`) as inbound entries. */
export async function loadManifestOrPorts(argument: string, options: { expose?: boolean } = {}): Promise<Manifest> {
  if (existsSync(argument)) return loadManifest(argument);
  try {
    return manifestFromPorts(argument, options);
  } catch (error) {
    // Neither ports nor an existing file: say what is wrong with the likelier reading.
    if (looksLikeFile(argument)) return loadManifest(argument);
    if (error instanceof PortholeError) {
      throw new PortholeError('E_PORT_SPEC', {
        detail: `${error.detail ?? argument} (and no file is named ${JSON.stringify(argument)})`,
        data: { spec: argument },
      });
    }
    throw error;
  }
}
