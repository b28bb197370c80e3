/**
 * The configuration file's shape (zod, like manifests) and the table of its keys: which
 * environment variable and which command-line flag set each one. Secrets are never values
 * here: a key that names a secret ends in `File` and holds the path of the file that has it,
 * so `porthole config show` can print every value without printing a secret.
 */
import type { z as Zod } from 'zod';

/**
 * The schema, built from the zod namespace given: the configuration is read synchronously and
 * zod is loaded only when a file exists (files.ts), so this module cannot import it itself.
 */
export function configSchemaWith(z: typeof Zod) {
  const httpUrl = z.string().refine((text) => {
    try {
      return ['http:', 'https:'].includes(new URL(text).protocol);
    } catch {
      return false;
    }
  }, 'expected an http(s) URL');

  const hostPort = z.string().regex(/^(?:\[[^\]]+\]|[^:\s[\]]+)(?::\d{1,5})?$/, 'expected HOST[:PORT]');
  const path = z.string().min(1, 'expected a file path');

  // Unknown keys are refused, so typos and inline secrets surface.
  return z.strictObject({
    /** One check service URL, or several (commands use the first; the fleet asks all). */
    checker: z.union([httpUrl, z.array(httpUrl).min(1)]).optional(),
    /** STUN server for NAT diagnosis, HOST[:PORT]. */
    stun: hostPort.optional(),
    relay: z
      .strictObject({
        url: z.string().min(1).optional(),
        user: z.string().min(1).optional(),
        keyFile: path.optional(),
      })
      .optional(),
    dns: z
      .strictObject({
        name: z.string().min(1).optional(),
        rfc2136: z.strictObject({ server: hostPort.optional(), tsigKeyFile: path.optional() }).optional(),
        dyndns2: z
          .strictObject({ url: httpUrl.optional(), user: z.string().optional(), passwordFile: path.optional() })
          .optional(),
      })
      .optional(),
    defaults: z
      .strictObject({
        /** Per-step deadline in milliseconds, for commands that take --timeout. */
        timeout: z.number().int().positive().max(600_000).optional(),
      })
      .optional(),
  });
}

/** The configuration as written in one file. */
export type ConfigFile = Zod.infer<ReturnType<typeof configSchemaWith>>;
