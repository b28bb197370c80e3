/**
 * Ports browsers refuse to contact whatever the network does ("bad ports" of the WHATWG
 * Fetch standard, as of 2025), and the common ports the /egress page tests. A page test of a
 * bad port would fail in every network, so the page names them instead of calling them blocked.
 */

/** Ports fetch() refuses on its own (Fetch standard, "bad port"). */
export const BROWSER_REFUSED_PORTS: ReadonlySet<number> = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
  540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
  6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** The ports the page tests by default, with what usually runs there. */
export const COMMON_EGRESS_PORTS: readonly { port: number; use: string }[] = [
  { port: 80, use: 'HTTP' },
  { port: 443, use: 'HTTPS' },
  { port: 8080, use: 'HTTP alternate' },
  { port: 8443, use: 'HTTPS alternate' },
  { port: 745, use: 'appliance relay' },
  { port: 5222, use: 'XMPP client' },
  { port: 5223, use: 'push notifications' },
  { port: 5938, use: 'remote support' },
  { port: 3478, use: 'STUN/TURN' },
  { port: 3389, use: 'remote desktop' },
  { port: 1194, use: 'OpenVPN' },
  { port: 21, use: 'FTP' },
  { port: 22, use: 'SSH' },
  { port: 25, use: 'SMTP' },
  { port: 465, use: 'SMTP over TLS' },
  { port: 587, use: 'mail submission' },
  { port: 993, use: 'IMAP over TLS' },
  { port: 5060, use: 'SIP' },
];
