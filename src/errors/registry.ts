/**
 * The one table of porthole's error codes. Every error the tool reports carries one of these
 * codes; `docs/errors.md` is generated from this table and a test keeps the two in step.
 */

/** How an error maps onto the command-line exit status (see PRODUCT.md: 2 usage, 3 operational). */
export type ErrorKind = 'usage' | 'operational';

/** One entry of the registry: what went wrong, and how the user fixes it. */
export interface ErrorEntry {
  readonly kind: ErrorKind;
  /** A short sentence naming the condition; details are appended by the thrower. */
  readonly message: string;
  /** What to do about it, in the imperative. */
  readonly hint: string;
}

/** The registry. Codes are stable: never rename one, add a new one instead. */
export const errorRegistry = {
  E_USAGE: {
    kind: 'usage',
    message: 'The command line could not be understood',
    hint: 'Run `porthole --help` (or `porthole COMMAND --help`) for the accepted commands and flags.',
  },
  E_UNKNOWN_COMMAND: {
    kind: 'usage',
    message: 'Unknown command',
    hint: 'Run `porthole --help` for the list of commands.',
  },
  E_UNKNOWN_OPTION: {
    kind: 'usage',
    message: 'Unknown option',
    hint: 'Run `porthole COMMAND --help` for the options that command accepts.',
  },
  E_NOT_AVAILABLE: {
    kind: 'usage',
    message: 'This command is not available yet in this version of porthole',
    hint: 'Check `porthole --help` for the commands this version implements.',
  },
  E_PORT_SPEC: {
    kind: 'usage',
    message: 'Invalid port specification',
    hint: 'Write ports as 7001, 7001/udp, 554/tcp+udp, 20570-20575/tcp or a comma list of those; ports are 1-65535.',
  },
  E_ADDRESS: {
    kind: 'usage',
    message: 'Invalid IP address',
    hint: 'Give a literal IPv4 (203.0.113.7) or IPv6 (2001:db8::7) address.',
  },
  E_CIDR: {
    kind: 'usage',
    message: 'Invalid CIDR range',
    hint: 'Write a range as ADDRESS/PREFIX, e.g. 203.0.113.0/24 or 2001:db8::/32; separate several with commas.',
  },
  E_MANIFEST_READ: {
    kind: 'usage',
    message: 'The manifest file could not be read',
    hint: 'Check the path; a manifest is a YAML or JSON file of at most 1 MiB.',
  },
  E_MANIFEST_SYNTAX: {
    kind: 'usage',
    message: 'The manifest is not valid YAML or JSON',
    hint: 'Fix the syntax at the line and column shown (indentation, quotes, colons).',
  },
  E_MANIFEST_INVALID: {
    kind: 'usage',
    message: 'The manifest does not describe a valid ports table',
    hint: 'Fix each field listed (file:line:column: field: what was expected); `porthole manifest validate FILE` rechecks.',
  },
  E_FIREWALL_TARGET: {
    kind: 'usage',
    message: 'No such firewall target',
    hint: 'Use --target nftables, iptables, ufw, firewalld, windows or pf.',
  },
  E_FIREWALL_UNSUPPORTED: {
    kind: 'usage',
    message: 'porthole cannot apply rules for this firewall here',
    hint: 'Apply and remove work with --target nftables on Linux; for other firewalls, run the generated files with their own tool.',
  },
  E_FIREWALL_APPLY: {
    kind: 'operational',
    message: 'The firewall refused the change',
    hint: 'Read the message from nft; nothing was changed (the change is one atomic transaction).',
  },
  E_PROBE: {
    kind: 'operational',
    message: 'A probe could not be sent from this host',
    hint: 'Check the local network (an address, a route, free sockets); the message says which call failed.',
  },
  E_PORT_IN_USE: {
    kind: 'operational',
    message: 'A port porthole should listen on is already in use',
    hint: 'A server already listens there: run without --listen to check that server, or stop it first.',
  },
  E_CHECK_REQUEST: {
    kind: 'usage',
    message: 'The check request is malformed',
    hint: 'Send a JSON object such as {"ports": "7001,5353/udp"}, with an optional {"proof": {"key": BASE64}}.',
  },
  E_TOO_MANY_PORTS: {
    kind: 'usage',
    message: 'Too many ports in one check',
    hint: 'Split the ports over several checks, or ask the operator of the checker to raise --max-ports.',
  },
  E_TARGET_NOT_ALLOWED: {
    kind: 'operational',
    message: 'The checker does not probe this address',
    hint: "A checker only probes public addresses (the caller's own); run it outside your network, or pass --allow-targets to a lab checker.",
  },
  E_RATE_LIMITED: {
    kind: 'operational',
    message: 'Too many checks from this address',
    hint: 'Wait for the time the Retry-After header gives, then try again.',
  },
  E_NO_CHECKER: {
    kind: 'usage',
    message: 'No checker was named',
    hint: 'Pass --checker URL or set PORTHOLE_CHECKER; run `porthole serve` on a host outside your network (there is no built-in public checker).',
  },
  E_NO_EGRESS_LISTENER: {
    kind: 'operational',
    message: 'This check service runs no egress listener',
    hint: 'Start the service with `porthole serve --egress-address ADDR --egress-ports 1-65535`, or test against a host running one with --target.',
  },
  E_NO_EGRESS_TARGET: {
    kind: 'usage',
    message: 'Nothing to test outbound connections against',
    hint: 'Pass --checker URL (a porthole service with an egress listener) or --target HOST; manifest entries with hosts: need neither.',
  },
  E_CHECKER_UNREACHABLE: {
    kind: 'operational',
    message: 'The checker could not be reached',
    hint: 'Check the URL and that `porthole serve` runs there and is reachable from this network.',
  },
  E_CHECKER_REFUSED: {
    kind: 'operational',
    message: 'The checker refused the check',
    hint: "Read the checker's reason in the message; its own hint follows.",
  },
  E_MALFORMED_PACKET: {
    kind: 'operational',
    message: 'A packet from the network could not be decoded',
    hint: 'A device answered with something porthole does not understand; run with --verbose to see it.',
  },
  E_XML_REFUSED: {
    kind: 'operational',
    message: "The router's XML was refused",
    hint: 'porthole refuses DOCTYPEs, entities and bodies over 256 KiB; a router sending them is misbehaving or hostile.',
  },
  E_GATEWAY_URL: {
    kind: 'operational',
    message: 'A URL from the router was refused',
    hint: 'porthole only talks to the answering gateway by its private address, with no names, no loopback and no redirects.',
  },
  E_GATEWAY_UNREACHABLE: {
    kind: 'operational',
    message: 'The router did not answer',
    hint: "Check that this host is on the router's LAN and that the router has UPnP IGD, NAT-PMP or PCP turned on.",
  },
  E_GATEWAY_REFUSED: {
    kind: 'operational',
    message: 'The router refused the mapping',
    hint: 'The router says why in the message; allow port mapping (UPnP / NAT-PMP / PCP) for this host in its settings, or forward the port by hand.',
  },
  E_MAPPING_CONFLICT: {
    kind: 'operational',
    message: 'The external port is already mapped to another host',
    hint: 'Ask for a range (--external 20570-20575) or another port; `porthole mappings` shows who holds it.',
  },
  E_NO_MAPPING_PROTOCOL: {
    kind: 'operational',
    message: 'No router on this network offers port mapping',
    hint: 'Turn on UPnP IGD, NAT-PMP or PCP on the router, or forward the port by hand (porthole doctor prints the values).',
  },
  E_STUN_NO_ANSWER: {
    kind: 'operational',
    message: 'The STUN server did not answer',
    hint: 'Check --stun HOST[:PORT] (default port 3478) and that UDP to it is allowed out of this network.',
  },
  E_TIMEOUT: {
    kind: 'operational',
    message: 'The operation did not finish before its deadline',
    hint: 'Check that the peer is reachable, or raise the timeout with --timeout.',
  },
  E_ABORTED: {
    kind: 'operational',
    message: 'The operation was cancelled',
    hint: 'Nothing to fix: the operation was interrupted on request.',
  },
  E_NO_GATEWAY: {
    kind: 'operational',
    message: 'No default gateway was found',
    hint: 'Check that this host has a default route (`ip route show default`).',
  },
  E_PERMISSION: {
    kind: 'operational',
    message: 'This operation needs more privileges',
    hint: 'Run it as root (sudo), or with CAP_NET_ADMIN for network namespaces and firewall changes.',
  },
  E_LAB_UNSUPPORTED: {
    kind: 'operational',
    message: 'The network lab cannot run on this machine',
    hint: 'The lab needs Linux, root, `ip netns` and the lab packages; run `bash .ci/run` once to install them.',
  },
  E_LAB_DAEMON: {
    kind: 'operational',
    message: 'A lab daemon did not become ready',
    hint: "Read the daemon's log printed with the error; check that its package is installed.",
  },
  E_LAB_NOT_FOUND: {
    kind: 'usage',
    message: 'No such lab or lab host',
    hint: 'Run `npm run lab -- list` to see the labs that are up and their hosts.',
  },
  E_INTERNAL: {
    kind: 'operational',
    message: 'porthole hit an unexpected internal error',
    hint: 'Run again with --verbose and report the output as a bug.',
  },
  // IPv6 and UDP, end to end (issue 16): pinholes, address checks, UDP service probes.
  E_NO_IPV6: {
    kind: 'operational',
    message: 'This host has no global IPv6 address or no IPv6 default route',
    hint: 'IPv6 needs a routed prefix from the provider: check `ip -6 addr show scope global` and `ip -6 route show default`; without it, use IPv4 (a port mapping) or a relay.',
  },
  E_PINHOLE_REFUSED: {
    kind: 'operational',
    message: 'The router refused to open an IPv6 pinhole',
    hint: 'The router says why in the message: miniupnpd-based routers refuse internal ports below 1024 (606) and any request for an address other than the sender (606); 702/703 mean its IPv6 firewall or inbound pinholes are switched off in its settings.',
  },
  E_ADDRESS_UNSUPPORTED: {
    kind: 'usage',
    message: 'This address cannot be used here',
    hint: 'Give a global address without a zone id (%eth0): link-local addresses reach only the local link, and IPv4-mapped IPv6 (::ffff:a.b.c.d) should be written as the IPv4 address.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** Every stable error code porthole can report. */
export type ErrorCode = keyof typeof errorRegistry;

/** All codes, in registry order. */
export const errorCodes = Object.keys(errorRegistry) as ErrorCode[];
