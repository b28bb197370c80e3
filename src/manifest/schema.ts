/**
 * The manifest's shape, checked with zod. Meaning (ranges, groups, names) is checked after
 * the shape, in parse.ts, so every message can say which field and what was expected.
 */
import { z } from 'zod';

const portValue = z.union([z.number(), z.string()]);

/** One entry of `ports:` as written. Unknown keys are refused, so typos surface. */
export const rawEntrySchema = z.strictObject({
  name: z.string().min(1, 'expected a non-empty name'),
  direction: z.enum(['inbound', 'outbound', 'multicast']),
  protocol: z.enum(['tcp', 'udp', 'tcp+udp']),
  port: z.union([portValue, z.array(portValue).min(1, 'expected at least one port')]),
  expose: z.boolean().optional(),
  required: z.boolean().optional(),
  description: z.string().optional(),
  peers: z.array(z.string()).optional(),
  /** The PRODUCT.md sketch's spelling of `peers` for outbound entries. */
  hosts: z.array(z.string()).optional(),
  group: z.string().optional(),
  /** What a multicast entry's server announces, so the doctor can query for it. */
  announce: z
    .strictObject({
      mdns: z
        .string()
        .regex(/^_[A-Za-z0-9-]{1,15}\._(tcp|udp)$/, 'expected a DNS-SD service type such as _nx._tcp')
        .optional(),
      ssdp: z
        .string()
        .regex(
          /^(urn|upnp|uuid):\S+$/,
          'expected an SSDP search target such as urn:schemas-upnp-org:device:MediaServer:1',
        )
        .optional(),
      wsd: z
        .string()
        .regex(/^[A-Za-z][\w.-]*:[A-Za-z_][\w.-]*$/, 'expected a WS-Discovery type such as dn:NetworkVideoTransmitter')
        .optional(),
    })
    .optional(),
});

/** The whole file as written. */
export const rawManifestSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected letters, digits, ".", "_" or "-" (at most 63)'),
  description: z.string().optional(),
  ports: z.array(rawEntrySchema).min(1, 'expected at least one entry'),
});

/** A manifest entry as written. */
export type RawEntry = z.infer<typeof rawEntrySchema>;
