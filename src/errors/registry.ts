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
  /**
   * The HTTP status porthole's services (the checker, the fleet's front) answer this code with;
   * set only on codes a route can throw (RFC 9110, section 15).
   */
  readonly httpStatus?: number;
}

/*
 * The registry, in sections by the module whose conditions they are (docs/errors.md follows them).
 * Codes are stable: never rename one, add a new one instead.
 */

/** The command line and every module. */
const commandLine = {
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
  E_PERMISSION: {
    kind: 'operational',
    message: 'This operation needs more privileges',
    hint: 'Run it as root (sudo), or with CAP_NET_ADMIN for network namespaces and firewall changes.',
  },
  E_INTERNAL: {
    kind: 'operational',
    message: 'porthole hit an unexpected internal error',
    hint: 'Run again with --verbose and report the output as a bug.',
    httpStatus: 500,
  },
} as const satisfies Record<string, ErrorEntry>;

/** Ports and addresses (src/net). */
const net = {
  E_PORT_SPEC: {
    kind: 'usage',
    message: 'Invalid port specification',
    hint: 'Write ports as 7001, 7001/udp, 554/tcp+udp, 20570-20575/tcp or a comma list of those; ports are 1-65535.',
    httpStatus: 400,
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
  E_ADDRESS_UNSUPPORTED: {
    kind: 'usage',
    message: 'This address cannot be used here',
    hint: 'Give a global address without a zone id (%eth0): link-local addresses reach only the local link, and IPv4-mapped IPv6 (::ffff:a.b.c.d) should be written as the IPv4 address.',
  },
  E_NO_IPV6: {
    kind: 'operational',
    message: 'This host has no global IPv6 address or no IPv6 default route',
    hint: 'IPv6 needs a routed prefix from the provider: check `ip -6 addr show scope global` and `ip -6 route show default`; without it, use IPv4 (a port mapping) or a relay.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** Ports tables (src/manifest). */
const manifest = {
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
} as const satisfies Record<string, ErrorEntry>;

/** The configuration file (src/config). */
const config = {
  E_CONFIG_INVALID: {
    kind: 'usage',
    message: 'The configuration file is not valid',
    hint: 'Fix the key at the place named (`porthole config path` shows the files); secrets go in files named by `…File` keys.',
  },
  E_CONFIG_KEY: {
    kind: 'usage',
    message: 'Unknown configuration key',
    hint: 'Run `porthole config show` for the keys porthole knows.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** Host firewall rules (src/firewall, src/host). */
const firewall = {
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
} as const satisfies Record<string, ErrorEntry>;

/** Probes (src/probe). */
const probe = {
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
} as const satisfies Record<string, ErrorEntry>;

/** The check service and its client (src/checker, src/checkerClient). */
const checker = {
  E_CHECK_REQUEST: {
    kind: 'usage',
    message: 'The check request is malformed',
    hint: 'Send a JSON object such as {"ports": "7001,5353/udp"}, with an optional {"proof": {"key": BASE64}}.',
    httpStatus: 400,
  },
  E_TOO_MANY_PORTS: {
    kind: 'usage',
    message: 'Too many ports in one check',
    hint: 'Split the ports over several checks, or ask the operator of the checker to raise --max-ports.',
    httpStatus: 400,
  },
  E_TARGET_NOT_ALLOWED: {
    kind: 'operational',
    message: 'The checker does not probe this address',
    hint: "A checker only probes public addresses (the caller's own); run it outside your network, or pass --allow-targets to a lab checker.",
    httpStatus: 403,
  },
  E_RATE_LIMITED: {
    kind: 'operational',
    message: 'Too many checks from this address',
    hint: 'Wait for the time the Retry-After header gives, then try again.',
    httpStatus: 429,
  },
  E_NO_CHECKER: {
    kind: 'usage',
    message: 'No checker was named',
    hint: 'Pass --checker URL or set PORTHOLE_CHECKER; run `porthole serve` on a host outside your network (there is no built-in public checker).',
  },
  E_CHECKER_URL: {
    kind: 'usage',
    message: 'The checker URL is not valid',
    hint: 'Give the check service as an http(s) URL, e.g. --checker http://checker.example.net:8080.',
  },
  E_CHECKER_UNREACHABLE: {
    kind: 'operational',
    message: 'The checker could not be reached',
    hint: 'Check the URL and that `porthole serve` runs there; a network that blocks its port outbound needs the checker on 443 or 80 (porthole serve --listen 0.0.0.0:443).',
  },
  E_CHECKER_REFUSED: {
    kind: 'operational',
    message: 'The checker refused the check',
    hint: "Read the checker's reason in the message; its own hint follows.",
  },
  E_NO_EGRESS_LISTENER: {
    kind: 'operational',
    message: 'This check service runs no egress listener',
    hint: 'Start the service with `porthole serve --egress-address ADDR --egress-ports 1-65535`, or test against a host running one with --target.',
    httpStatus: 404,
  },
  E_NO_EGRESS_TARGET: {
    kind: 'usage',
    message: 'Nothing to test outbound connections against',
    hint: 'Pass --checker URL (a porthole service with an egress listener) or --target HOST; manifest entries with hosts: need neither.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** Router mapping (src/gateway): discovery, UPnP IGD, NAT-PMP, PCP, IPv6 pinholes. */
const gateway = {
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
  E_NO_GATEWAY: {
    kind: 'operational',
    message: 'No default gateway was found',
    hint: 'Check that this host has a default route (`ip route show default`).',
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
  E_GATEWAY_MOVED: {
    kind: 'operational',
    message: "The mapping was made on another router than this host's gateway now",
    hint: "This host moved to another network (or its router was replaced): remove the mapping on that router's own page, or wait for its lease to end. porthole asks only the gateway of this host's default route.",
  },
  E_GATEWAY_POLICY: {
    kind: 'operational',
    message: 'The router refused this host by its rules',
    hint: "In the router's settings, allow this host (its address is in the message) to map ports (UPnP / NAT-PMP / PCP access rules), or forward the port by hand; a relay (--relay) needs no router at all.",
  },
  E_MAPPING_TABLE_LIMIT: {
    kind: 'usage',
    message: 'More port mappings asked than a home router holds',
    hint: 'Expose fewer ports: a smaller range, one entry per port the users need, or map a range onto few external ports with --external; for many ports, a relay (--relay) carries them without the router.',
  },
  E_PINHOLE_REFUSED: {
    kind: 'operational',
    message: 'The router refused to open an IPv6 pinhole',
    hint: 'The router says why in the message: miniupnpd-based routers refuse internal ports below 1024 (606) and any request for an address other than the sender (606); 702/703 mean its IPv6 firewall or inbound pinholes are switched off in its settings.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** NAT diagnosis (src/nat). */
const nat = {
  E_STUN_NO_ANSWER: {
    kind: 'operational',
    message: 'The STUN server did not answer',
    hint: 'Check --stun HOST[:PORT] (default port 3478) and that UDP to it is allowed out of this network.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** The run session and what it leaves (src/library). */
const library = {
  E_NO_ROAD: {
    kind: 'operational',
    message: 'No road to make the ports reachable could be tried here',
    hint: 'Each road says why it could not be used: give a relay (--relay ssh://USER@HOST) for when no direct road exists, or allow IPv4 (--family auto).',
  },
  E_CLEANUP_FAILED: {
    kind: 'operational',
    message: 'Something a porthole process left behind could not be removed',
    hint: 'Its record is kept: fix the cause named (router unreachable, no permission) and run `porthole cleanup` again.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** DNS names (src/dns): RFC 2136 + TSIG updates, the dyndns2 client and the name service's endpoint. */
const dns = {
  E_DNS_NAME: {
    kind: 'usage',
    message: 'Not a valid DNS name',
    hint: 'Give a fully qualified name such as host.dyn.example.net (labels of letters, digits and hyphens, at most 63 bytes each, 253 in all).',
  },
  E_DNS_KEY_FILE: {
    kind: 'usage',
    message: 'The TSIG key file could not be used',
    hint: 'Give the file `tsig-keygen -a hmac-sha256 NAME` writes (`key "NAME" { algorithm hmac-sha256; secret "..."; };`), readable by this user; hmac-sha256, hmac-sha512 and hmac-sha1 are accepted.',
  },
  E_DNS_SECRET_FILE: {
    kind: 'usage',
    message: 'The password file could not be read',
    hint: 'Put the password alone on the first line of a file only you can read (chmod 600) and pass it with --password-file.',
  },
  E_DNS_NO_ANSWER: {
    kind: 'operational',
    message: 'The DNS server did not answer',
    hint: 'Check the server address and port (--rfc2136 SERVER[:PORT], --server), and that UDP port 53 to it is allowed out of this network.',
  },
  E_DNS_ZONE_UNKNOWN: {
    kind: 'operational',
    message: 'The zone of the name could not be found at the server',
    hint: 'Check that the server is authoritative for a zone above the name, or give the zone with --zone.',
  },
  E_DNS_FORMERR: {
    kind: 'operational',
    message: 'The DNS server could not read the update (FORMERR)',
    hint: 'The server rejected the message format; check the name and the server software, and report it with --verbose if the server is standard.',
  },
  E_DNS_SERVFAIL: {
    kind: 'operational',
    message: 'The DNS server failed to apply the update (SERVFAIL)',
    hint: "Read the server's log: its zone file or journal may not be writable, or the zone failed to load.",
  },
  E_DNS_NXDOMAIN: {
    kind: 'operational',
    message: 'A prerequisite name does not exist (NXDOMAIN)',
    hint: 'The update required a name that the zone lacks; run `porthole name show NAME --server SERVER` to see what is there.',
  },
  E_DNS_NOTIMP: {
    kind: 'operational',
    message: 'The DNS server does not implement dynamic update (NOTIMP)',
    hint: 'Use a server that supports RFC 2136 (BIND, Knot, PowerDNS) or a dyndns2 provider (--dyndns2 URL).',
  },
  E_DNS_REFUSED: {
    kind: 'operational',
    message: 'The DNS server refused the update (REFUSED)',
    hint: "Allow the key to update this name in the server's configuration (BIND `update-policy { grant KEY zonesub ANY; };`, Knot `acl` with `action: update`).",
  },
  E_DNS_YXDOMAIN: {
    kind: 'operational',
    message: 'A name that should not exist does (YXDOMAIN)',
    hint: 'Another record holds the name; pick another name or remove the conflicting record.',
  },
  E_DNS_YXRRSET: {
    kind: 'operational',
    message: 'A record set that should not exist does (YXRRSET)',
    hint: 'The name changed meanwhile; run the update again.',
  },
  E_DNS_NXRRSET: {
    kind: 'operational',
    message: 'A record set that should exist does not (NXRRSET)',
    hint: 'The name changed meanwhile; run the update again.',
  },
  E_DNS_NOTAUTH: {
    kind: 'operational',
    message: 'The DNS server is not authoritative for the zone (NOTAUTH)',
    hint: 'Send the update to the primary server of the zone (see its SOA record), or give the right zone with --zone.',
  },
  E_DNS_NOTZONE: {
    kind: 'operational',
    message: 'The name is not inside the zone (NOTZONE)',
    hint: 'Give a zone that contains the name (--zone), or a name inside the zone.',
  },
  E_DNS_RCODE: {
    kind: 'operational',
    message: 'The DNS server answered the update with an error',
    hint: "The response code is in the message; read the server's log for the reason.",
  },
  E_DNS_BADSIG: {
    kind: 'operational',
    message: 'The DNS server rejected the TSIG signature (BADSIG)',
    hint: 'The key name matches but the secret or algorithm does not: use the very key file the server was configured with.',
  },
  E_DNS_BADKEY: {
    kind: 'operational',
    message: 'The DNS server does not know the TSIG key (BADKEY)',
    hint: "Add the key to the server's configuration (`include` the tsig-keygen file in named.conf, or `key:` in knot.conf) with the same name and algorithm.",
  },
  E_DNS_BADTIME: {
    kind: 'operational',
    message: "The DNS server rejected the update's time (BADTIME)",
    hint: "This clock and the server's differ by more than the 300 s fudge; synchronise both clocks (NTP).",
  },
  E_DNS_RESPONSE_SIGNATURE: {
    kind: 'operational',
    message: "The DNS server's answer failed TSIG verification",
    hint: 'The answer was not signed with our key, or was altered on the way; something between here and the server may be forging answers.',
  },
  E_DNS_NO_ADDRESS: {
    kind: 'operational',
    message: 'The public address could not be found',
    hint: 'Give it with --ip ADDR, or name a checker (--checker URL) or STUN server (--stun HOST) that can see it.',
  },
  E_DNS_STATE: {
    kind: 'operational',
    message: 'The name state file could not be read or written',
    hint: 'Check the permissions of the data directory (--data); porthole keeps it private (0600 files).',
  },
  E_DYNDNS_BADAUTH: {
    kind: 'operational',
    message: 'The dyndns2 provider refused the user name or password (badauth)',
    hint: 'Fix --user or --password-file; porthole sends no more updates with these settings until they change.',
  },
  E_DYNDNS_NOTFQDN: {
    kind: 'usage',
    message: 'The dyndns2 provider says the name is not fully qualified (notfqdn)',
    hint: 'Give the whole name, e.g. host.dyndns.example.',
  },
  E_DYNDNS_NOHOST: {
    kind: 'operational',
    message: 'The dyndns2 provider has no such name for this account (nohost)',
    hint: "Create the name in the provider's account first; porthole sends no more updates with these settings until they change.",
  },
  E_DYNDNS_NOT_YOURS: {
    kind: 'operational',
    message: 'The name belongs to another account (!yours)',
    hint: 'Use a name this account owns; porthole sends no more updates with these settings until they change.',
  },
  E_DYNDNS_NUMHOST: {
    kind: 'operational',
    message: 'Too many names in one dyndns2 update (numhost)',
    hint: 'Update one name per request.',
  },
  E_DYNDNS_ABUSE: {
    kind: 'operational',
    message: 'The dyndns2 provider blocked this account for abuse (abuse)',
    hint: 'Contact the provider to unblock the name; porthole sends no more updates with these settings until they change.',
  },
  E_DYNDNS_BADAGENT: {
    kind: 'operational',
    message: 'The dyndns2 provider refused this client (badagent)',
    hint: 'The provider blocks this User-Agent or method; report it to the porthole project. No more updates are sent until the settings change.',
  },
  E_DYNDNS_DNSERR: {
    kind: 'operational',
    message: 'The dyndns2 provider had a DNS error (dnserr)',
    hint: "A problem on the provider's side; porthole backs off and retries later.",
  },
  E_DYNDNS_911: {
    kind: 'operational',
    message: 'The dyndns2 provider is in trouble (911)',
    hint: "A problem on the provider's side; porthole backs off (at least 30 minutes, as the protocol asks) and retries later.",
  },
  E_DYNDNS_ANSWER: {
    kind: 'operational',
    message: 'The dyndns2 provider gave an answer porthole does not understand',
    hint: 'Check the --dyndns2 URL (it should end in /nic/update); the answer is in the message.',
  },
  E_DYNDNS_STOPPED: {
    kind: 'operational',
    message: 'Updates to this name are stopped after a refusal',
    hint: 'The provider refused these settings before (the reason is in the message); change --user, --password-file or the URL, and porthole tries again.',
  },
  E_DYNDNS_BACKOFF: {
    kind: 'operational',
    message: 'The dyndns2 provider asked to wait before the next update',
    hint: 'The provider reported a problem on its side; porthole tries again after the time in the message.',
  },
  E_DNS_USERS_FILE: {
    kind: 'usage',
    message: 'The name service users file could not be used',
    hint: 'Write it as JSON {"users": [{"user", "password", "names", "trusted"}]} with passwords from `porthole name hash-password --password-file F`, names inside --dns-zone, and chmod 600.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** The check service as a fleet over NATS (src/fleet). */
const fleet = {
  E_FLEET_ROLE: {
    kind: 'usage',
    message: '--nats needs a role: --front or --vantage NAME',
    hint: 'Run `porthole serve --nats URL --front --signing-key FILE`, or `--vantage NAME --front-key FILE.pub`.',
  },
  E_FLEET_NATS: {
    kind: 'operational',
    message: 'Could not connect to NATS',
    hint: 'Check the --nats URL, that nats-server runs, the credentials in --nats-auth and, for tls://, --nats-ca.',
  },
  E_FLEET_AUTH_FILE: {
    kind: 'usage',
    message: 'The NATS auth file could not be used',
    hint: 'Put one of these in the file: an nkey seed (SU…), a .creds file from nsc, or one "user:password" line.',
  },
  E_FLEET_KEY: {
    kind: 'usage',
    message: 'The fleet signing key could not be read',
    hint: 'Give the front a PEM Ed25519 private key (--signing-key; a missing file is created) and the vantages its .pub (--front-key).',
  },
  E_FLEET_MESSAGE: {
    kind: 'operational',
    message: 'A fleet message is malformed',
    hint: 'Check that every front and vantage runs the same porthole version.',
  },
  E_FLEET_SIGNATURE: {
    kind: 'operational',
    message: "The check order does not carry the front's signature",
    hint: "Give the vantage the public key of the front's --signing-key (--front-key FILE.pub); unsigned or forged orders are never probed.",
  },
  E_FLEET_ORDER_EXPIRED: {
    kind: 'operational',
    message: 'The check order has expired',
    hint: 'Check the clocks of fronts and vantages (NTP); an order is valid for its deadline plus 30 s.',
  },
  E_FLEET_SELECTOR: {
    kind: 'usage',
    message: 'The vantage list is not valid',
    hint: 'Write --vantage all, or names and regions separated by commas (letters, digits, - and _).',
    httpStatus: 400,
  },
  E_FLEET_NO_VANTAGE: {
    kind: 'operational',
    message: 'No vantage answered the check',
    hint: 'Start vantages (`porthole serve --nats URL --vantage NAME`) and check GET /v1/vantages on the front.',
    httpStatus: 503,
  },
  E_FLEET_NOT_FRONT: {
    kind: 'operational',
    message: 'The checker is not a fleet front',
    hint: 'Drop --vantage for a single checker, or point --checker at a front (`porthole serve --nats URL --front`).',
  },
} as const satisfies Record<string, ErrorEntry>;

/** Relay: reverse tunnels over SSH (src/relay). */
const relay = {
  E_RELAY_URL: {
    kind: 'usage',
    message: 'The relay URL could not be understood',
    hint: 'Write --relay ssh://USER@HOST[:PORT] (for example ssh://tenant@relay.example.net:2222).',
  },
  E_RELAY_UNREACHABLE: {
    kind: 'operational',
    message: 'The relay could not be reached',
    hint: 'Check the relay host and port, that it runs sshd or `porthole relay serve`, and whether this network needs --proxy or the WebSocket transport.',
  },
  E_RELAY_HOST_KEY_CHANGED: {
    kind: 'operational',
    message: "The relay's host key is not the one recorded earlier",
    hint: 'If the relay was reinstalled on purpose, remove its old line with `ssh-keygen -R HOST -f KNOWN_HOSTS` (the file is named in the details) and connect again; otherwise someone may be intercepting the connection.',
  },
  E_RELAY_AUTH: {
    kind: 'operational',
    message: 'The relay refused our credentials',
    hint: "Add this machine's public key to the relay's authorized_keys (or tenants file), give --identity FILE, or start ssh-agent with the key.",
  },
  E_RELAY_NO_IDENTITY: {
    kind: 'usage',
    message: 'No SSH key or token to log in to the relay with',
    hint: 'Give --identity FILE, create a key with `ssh-keygen -t ed25519`, run ssh-agent (SSH_AUTH_SOCK), or put a token in the URL (ssh://tenant:TOKEN@host).',
  },
  E_RELAY_FORWARD_REFUSED: {
    kind: 'operational',
    message: 'The relay refused to open the public port',
    hint: 'On OpenSSH set `AllowTcpForwarding yes` and `GatewayPorts clientspecified` in sshd_config; on `porthole relay serve` ask for a port the tenant owns (or 0 for one from its pool).',
  },
  E_RELAY_NOT_PUBLIC: {
    kind: 'operational',
    message: 'The relay accepted the forward, but its public port does not reach this machine from outside',
    hint: 'On OpenSSH set `GatewayPorts clientspecified` (with `GatewayPorts no` sshd binds the port on its loopback only) and let the port through the relay host firewall.',
  },
  E_RELAY_UDP_UNSUPPORTED: {
    kind: 'operational',
    message: 'This relay cannot carry UDP',
    hint: 'UDP needs `porthole relay serve` with `udp: true` for the tenant; a plain sshd carries TCP only.',
  },
  E_RELAY_PROXY: {
    kind: 'operational',
    message: 'The HTTP proxy did not open a tunnel to the relay',
    hint: 'Check --proxy / HTTPS_PROXY and that the proxy allows CONNECT to the relay port (squid: `http_access allow CONNECT` for that port).',
  },
  E_RELAY_TENANTS: {
    kind: 'usage',
    message: 'The relay tenants file is not valid',
    hint: 'Each tenant needs a name, a key (authorized_keys line) or token, and ports (list) or pool (e.g. 20000-20999); see docs/relay.md.',
  },
  E_RELAY_MALFORMED: {
    kind: 'operational',
    message: 'A relay header or frame could not be decoded',
    hint: "The other end does not speak what it was expected to (a PROXY protocol header, a WebSocket frame or porthole's UDP channel frame) or sent a broken or oversized one; porthole closes that connection. Run with --verbose to see it.",
  },
  E_RELAY_HOST_KEY: {
    kind: 'operational',
    message: "The relay's own host key file cannot be read",
    hint: "It is ssh_host_ed25519_key in the relay's --data folder: restore it from a backup, or move it away so that a new one is made (clients then see a changed host key and must be given the new fingerprint).",
  },
} as const satisfies Record<string, ErrorEntry>;

/** LAN discovery (src/discovery): SSDP, mDNS/DNS-SD, WS-Discovery and the multicast checks. */
const discovery = {
  E_DISCOVERY_MALFORMED: {
    kind: 'operational',
    message: 'A discovery datagram was refused',
    hint: 'Nothing to fix here: a device sent a malformed, oversized or hostile SSDP, mDNS or WS-Discovery message, which porthole ignores (shown with --verbose).',
  },
  E_DISCOVERY_INTERFACE: {
    kind: 'usage',
    message: 'No such network interface',
    hint: 'Name an interface this host has (`ip -br link`), or leave --interface out to use every one.',
  },
} as const satisfies Record<string, ErrorEntry>;

/** The local page (src/ui): `porthole ui`. */
const ui = {
  E_UI_LISTEN: {
    kind: 'usage',
    message: 'The local page listens on a loopback address only',
    hint: 'Leave --listen out (a free port on 127.0.0.1), or give 127.0.0.1:PORT or [::1]:PORT: the page can change your router and firewall, so no other machine may reach it.',
  },
  E_UI_FORBIDDEN: {
    kind: 'usage',
    message: 'The local page refused a request that did not come from its own page',
    hint: 'Open the address `porthole ui` printed (it carries the page key) in a browser on this computer; requests from other sites, other names or without the key are refused.',
    httpStatus: 403,
  },
  E_UI_BUSY: {
    kind: 'usage',
    message: 'The local page is already doing this',
    hint: 'Wait for the run under way to finish, or stop it from the page, then try again.',
    httpStatus: 409,
  },
  E_UI_NOT_FOUND: {
    kind: 'usage',
    message: 'The local page has nothing at this address',
    hint: 'Open the address `porthole ui` printed.',
    httpStatus: 404,
  },
} as const satisfies Record<string, ErrorEntry>;

/** The sections, in the order docs/errors.md lists them. */
export const errorSections = [
  { title: 'The command line and every module', codes: commandLine },
  { title: 'Ports and addresses (src/net)', codes: net },
  { title: 'Ports tables (src/manifest)', codes: manifest },
  { title: 'The configuration file (src/config)', codes: config },
  { title: 'Host firewall rules (src/firewall, src/host)', codes: firewall },
  { title: 'Probes (src/probe)', codes: probe },
  { title: 'The check service and its client (src/checker, src/checkerClient)', codes: checker },
  { title: 'Router mapping (src/gateway): discovery, UPnP IGD, NAT-PMP, PCP, IPv6 pinholes', codes: gateway },
  { title: 'NAT diagnosis (src/nat)', codes: nat },
  { title: 'The run session and what it leaves (src/library)', codes: library },
  {
    title: "DNS names (src/dns): RFC 2136 + TSIG updates, the dyndns2 client and the name service's endpoint",
    codes: dns,
  },
  { title: 'The check service as a fleet over NATS (src/fleet)', codes: fleet },
  { title: 'Relay: reverse tunnels over SSH (src/relay)', codes: relay },
  {
    title: 'LAN discovery (src/discovery): SSDP, mDNS/DNS-SD, WS-Discovery and the multicast checks',
    codes: discovery,
  },
  { title: 'The local page (src/ui)', codes: ui },
] as const;

/** The registry: every code, its message, hint, kind and HTTP status. */
export const errorRegistry = {
  ...commandLine,
  ...net,
  ...manifest,
  ...config,
  ...firewall,
  ...probe,
  ...checker,
  ...gateway,
  ...nat,
  ...library,
  ...dns,
  ...fleet,
  ...relay,
  ...discovery,
  ...ui,
} as const satisfies Record<string, ErrorEntry>;

/** Every stable error code porthole can report. */
export type ErrorCode = keyof typeof errorRegistry;

/** All codes, in registry order. */
export const errorCodes = Object.keys(errorRegistry) as ErrorCode[];
