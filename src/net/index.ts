/** Public face of src/net: port specs, address classes, and local network facts. */
export * from './address.js';
export { bindError } from './bindError.js';
export * from './callerAddress.js';
export * from './localNetwork.js';
export * from './portSpec.js';
export * from './targetAddress.js';
