/**
 * UPnP control (SOAP 1.1), pure: the request envelope for an action and the reading of its
 * answer — the action's output arguments, or a UPnP error code from a SOAP fault.
 */
import { child, parseRouterXml, text, type XmlNode } from './xml.js';

function escapeXml(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The body of a SOAP request. Argument order matters to some routers: it is kept. */
export function encodeSoapRequest(
  serviceType: string,
  action: string,
  args: ReadonlyArray<readonly [string, string | number]>,
): string {
  const fields = args.map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`).join('');
  return (
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${serviceType}">${fields}</u:${action}></s:Body></s:Envelope>\r\n`
  );
}

/** The SOAPAction header, quoted as the UPnP Device Architecture requires. */
export function soapActionHeader(serviceType: string, action: string): string {
  return `"${serviceType}#${action}"`;
}

/** A SOAP answer: the output arguments, or a UPnP error. */
export type SoapAnswer =
  | { readonly ok: true; readonly values: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly errorCode: number; readonly errorDescription: string };

/** Reads a SOAP response body for `action`. Throws E_XML_REFUSED when it is neither answer nor fault. */
export function decodeSoapResponse(xml: string, action: string): SoapAnswer {
  const body = child(child(parseRouterXml(xml, `${action} response`), 'Envelope'), 'Body');
  const fault = child(body, 'Fault');
  if (fault !== undefined) {
    const error = child(child(fault, 'detail'), 'UPnPError');
    return {
      ok: false,
      errorCode: Number(text(child(error, 'errorCode'))) || 0,
      errorDescription: text(child(error, 'errorDescription')) || text(child(fault, 'faultstring')),
    };
  }
  const response = child(body, `${action}Response`);
  const values: Record<string, string> = {};
  const fields = Array.isArray(response) ? response[0] : response;
  if (fields && typeof fields === 'object') {
    for (const [name, value] of Object.entries(fields)) values[name] = text(value as XmlNode);
  }
  return { ok: true, values };
}
