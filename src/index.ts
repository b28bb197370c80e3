/** porthole's library API. */
export * from './deadline/index.js';
export * from './errors/index.js';
export * from './net/index.js';
