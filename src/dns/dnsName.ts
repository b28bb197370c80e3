/**
 * DNS names on the wire (RFC 1035 §3.1, §4.1.4), pure: checking a name a person typed,
 * writing it with BIND's compression (so our UPDATE is byte-identical to nsupdate's), and
 * reading a possibly compressed name with loop and length caps.
 */
import { PortholeError } from '../errors/index.js';

/** RFC 1035: 63 bytes per label, 255 on the wire (253 as text). */
const MAX_LABEL = 63;
const MAX_NAME_TEXT = 253;
/** A compression pointer can only reach the first 16 KiB of a message. */
const MAX_POINTER_OFFSET = 0x3fff;
/** More pointer hops than any honest message needs (a name has at most 127 labels). */
const MAX_POINTER_HOPS = 128;

/** A name as porthole keeps it: lower case, no trailing dot. */
export function normalizeName(text: string): string {
  const name = text.trim().replace(/\.$/, '').toLowerCase();
  if (name.length === 0 || name.length > MAX_NAME_TEXT) {
    throw new PortholeError('E_DNS_NAME', { detail: JSON.stringify(text) });
  }
  for (const label of name.split('.')) {
    // Letters, digits, hyphens and underscores (service labels); no empty label, no leading hyphen.
    if (label.length === 0 || label.length > MAX_LABEL || !/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/.test(label)) {
      throw new PortholeError('E_DNS_NAME', { detail: `${JSON.stringify(text)}: bad label "${label}"` });
    }
  }
  return name;
}

/** Whether `name` equals `zone` or lies below it. */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** Wire form of a name without compression (TSIG key and algorithm names, MAC input). */
export function nameBytes(name: string): Buffer {
  const labels = name === '' || name === '.' ? [] : name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** A message being written: names already written, by their lower-case suffix, for compression. */
export class MessageWriter {
  readonly #chunks: Buffer[] = [];
  #length = 0;
  readonly #suffixes = new Map<string, number>();

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** Appends raw bytes. */
  bytes(chunk: Uint8Array): void {
    const buffer = Buffer.from(chunk);
    this.#chunks.push(buffer);
    this.#length += buffer.length;
  }

  /** Appends a 16-bit big-endian value. */
  u16(value: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    this.bytes(b);
  }

  /** Appends a 32-bit big-endian value. */
  u32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value >>> 0);
    this.bytes(b);
  }

  /**
   * Appends a name, pointing at the longest suffix already written (BIND's renderer does the
   * same, which is what makes nsupdate's bytes and ours equal).
   */
  name(name: string, compress = true): void {
    const labels = name === '' ? [] : name.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = compress ? this.#suffixes.get(suffix) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (compress && this.#length <= MAX_POINTER_OFFSET) this.#suffixes.set(suffix, this.#length);
      const label = Buffer.from(labels[i] ?? '', 'ascii');
      this.bytes(Buffer.concat([Buffer.from([label.length]), label]));
    }
    this.bytes(Buffer.from([0]));
  }

  /** The whole message. */
  finish(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}

/** Reads a name at `offset`; returns it (lower case, no trailing dot) and the offset after it. */
export function readName(message: Uint8Array, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let position = offset;
  let next = -1;
  let hops = 0;
  let total = 0;
  for (;;) {
    if (position >= message.length) throw malformed('name runs past the end');
    const length = message[position] ?? 0;
    if ((length & 0xc0) === 0xc0) {
      if (position + 1 >= message.length) throw malformed('truncated compression pointer');
      if (++hops > MAX_POINTER_HOPS) throw malformed('compression pointer loop');
      if (next < 0) next = position + 2;
      position = ((length & 0x3f) << 8) | (message[position + 1] ?? 0);
      continue;
    }
    if (length & 0xc0) throw malformed('unknown label type');
    if (length === 0) break;
    if (position + 1 + length > message.length) throw malformed('label runs past the end');
    total += length + 1;
    if (total > 255) throw malformed('name longer than 255 bytes');
    labels.push(
      Buffer.from(message.subarray(position + 1, position + 1 + length))
        .toString('latin1')
        .toLowerCase(),
    );
    position += 1 + length;
  }
  return { name: labels.join('.'), next: next < 0 ? position + 1 : next };
}

/** E_MALFORMED_PACKET for a DNS message. */
export function malformed(detail: string): PortholeError {
  return new PortholeError('E_MALFORMED_PACKET', { detail: `DNS: ${detail}` });
}
