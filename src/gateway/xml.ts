/**
 * XML from routers, parsed safely: a document with a DOCTYPE or entity declarations is refused
 * before parsing (no entity expansion, no billion laughs), namespace prefixes are dropped
 * (routers use any prefix they like), and values are kept as trimmed text with entity references resolved.
 */
import { XMLParser } from 'fast-xml-parser';
import { PortholeError } from '../errors/index.js';

/** Bodies larger than this are refused by the HTTP layer before they get here. */
export const MAX_XML_BYTES = 256 * 1024;

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  isArray: (name) => name === 'device' || name === 'service',
});

/** A parsed element: text, or named children. */
export type XmlNode = string | { readonly [name: string]: XmlNode | XmlNode[] | undefined };

/** Parses router XML; throws E_XML_REFUSED for DOCTYPE/ENTITY or anything unparseable. */
export function parseRouterXml(text: string, what: string): XmlNode {
  if (text.length > MAX_XML_BYTES)
    throw new PortholeError('E_XML_REFUSED', { detail: `${what}: larger than ${MAX_XML_BYTES} bytes` });
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new PortholeError('E_XML_REFUSED', {
      detail: `${what}: declares a DOCTYPE or entities, which porthole never expands`,
    });
  }
  try {
    return parser.parse(text, true) as XmlNode;
  } catch (error) {
    throw new PortholeError('E_XML_REFUSED', {
      detail: `${what}: ${(error as Error).message.split('\n')[0]}`,
      cause: error,
    });
  }
}

/** The child element `name` of a node (the first when repeated). */
export function child(node: XmlNode | XmlNode[] | undefined, name: string): XmlNode | XmlNode[] | undefined {
  const one = Array.isArray(node) ? node[0] : node;
  return one !== undefined && typeof one === 'object' ? one[name] : undefined;
}

/** XML's five predefined entities; the parser expands none (no DOCTYPE, no declared entities), by design. */
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * The text of a node ('' for elements), with character and predefined entity references resolved
 * in one pass (so `&amp;lt;` stays `&lt;`): a router's `&amp;` in a URL or a description, a
 * device's `&#39;`. A reference to no character (over U+10FFFF, a surrogate, NUL) is left as written.
 */
export function text(node: XmlNode | XmlNode[] | undefined): string {
  const one = Array.isArray(node) ? node[0] : node;
  const raw = typeof one === 'string' ? one : typeof one === 'number' ? String(one) : '';
  if (!raw.includes('&')) return raw;
  return raw.replace(/&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(lt|gt|amp|quot|apos));/g, (whole, dec, hex, name) => {
    if (name) return PREDEFINED[name] ?? whole;
    const code = dec ? Number(dec) : Number.parseInt(hex, 16);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return whole;
    return String.fromCodePoint(code);
  });
}

/** A node as a list. */
export function list(node: XmlNode | XmlNode[] | undefined): XmlNode[] {
  return node === undefined ? [] : Array.isArray(node) ? node : [node];
}
