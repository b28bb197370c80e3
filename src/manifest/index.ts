/** Public face of src/manifest: an application's ports table as a validated file. */
export { manifestFromPorts } from './fromPorts.js';
export { loadManifest, parseManifest } from './parse.js';
export { loadManifestOrPorts } from './source.js';
export { manifestTableMarkdown, manifestTableText } from './table.js';
export type { Announce, Direction, Manifest, ManifestEntry, ManifestIssue, Peer, ProtocolWord } from './types.js';
