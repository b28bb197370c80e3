/**
 * Public face of src/dns: a DNS name that follows the public address. RFC 2136 updates signed
 * with TSIG, the dyndns2 client, the update pass and loop, and the name service's endpoint.
 */
export { isInZone, normalizeName } from './dnsName.js';
export {
  DYNDNS2_ANSWERS,
  type Dyndns2Account,
  type Dyndns2Answer,
  type Dyndns2Reply,
  decodeDyndns2Answer,
  requestDyndns2,
} from './dyndns2.js';
export {
  type NameServiceFiles,
  type NameServiceOptions,
  nameServiceFromFiles,
  registerNameService,
} from './endpoint.js';
export { parseTsigKeyFile, readTsigKeyFile } from './keyFile.js';
export { type PublicAddressSources, publicAddressesFromNat } from './publicAddress.js';
export { type AuthoritativeAnswer, findZone, queryAuthoritative } from './query.js';
export { rcodeError, type SendUpdateOptions, sendUpdate, type UpdateOutcome } from './rfc2136.js';
export { nameStatePath, readNameState } from './state.js';
export { type DnsServer, formatServer, parseDnsServer } from './transport.js';
export { signMessage, type TsigAlgorithm, type TsigKey, verifyResponse } from './tsig.js';
export {
  type DesiredAddresses,
  type KeepNameOptions,
  keepName,
  type NameRecordReport,
  type NameReport,
  type NameUpdateMethod,
  type UpdateNameOptions,
  updateName,
} from './update.js';
export { type AddressType, decodeMessage, encodeUpdate, replaceRRset, type UpdateRequest } from './updateCodec.js';
export { hashPassword, type NameUser, parseUsers, readUsersFile, verifyPassword } from './users.js';
