/**
 * The macOS Application Firewall as `socketfilterfw` reports it. It allows or blocks PROGRAMS,
 * not ports. Its output is English whatever the system language, but the wording changed
 * between releases, so each setting is read from every wording found in real output (see
 * test/fixtures/host/macos/README.md):
 *
 *   --getglobalstate  `Firewall is enabled. (State = 1)`, `Firewall is disabled. (State = 0)`,
 *                     `Firewall is blocking all non-essential incoming connections. (State = 2)`
 *   --getblockall     `Block all DISABLED!` (10.x-13) / `Firewall has block all state set to disabled.` (14+)
 *   --getstealthmode  `Stealth mode enabled` / `Firewall stealth mode is on`
 *   --getallowsigned  `Automatically allow (built-in|downloaded) signed software ENABLED`
 *   --listapps        `ALF: total number of apps = 2` then `1 :  /path` and `( Allow incoming
 *                     connections )` (10.x-13); `Total number of apps = 9`, `1 : /path`,
 *                     `(Block incoming connections)` (14+)
 *
 * Pure. What it cannot read stays undefined and is said in `warnings`.
 */

/** One program in the firewall's list. */
export interface AlfApp {
  /** A program file or an app bundle (`/Applications/Plex Media Server.app`). */
  readonly path: string;
  readonly allowed: boolean;
}

/** The Application Firewall's settings; undefined where the output did not say. */
export interface AlfState {
  /** globalstate: 0 off, 1 on, 2 on and blocking all but essential services. */
  readonly state: 0 | 1 | 2 | undefined;
  readonly blockAll: boolean | undefined;
  readonly stealth: boolean | undefined;
  /** Signed built-in (Apple) software is let in without being listed. */
  readonly allowSignedBuiltIn: boolean | undefined;
  /** Downloaded software signed by a valid certificate is let in without being listed. */
  readonly allowSignedDownloaded: boolean | undefined;
  /** The list, or undefined when --listapps was not in the output. */
  readonly apps: readonly AlfApp[] | undefined;
  readonly warnings: readonly string[];
}

function onOff(text: string, patterns: readonly RegExp[]): boolean | undefined {
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match?.[1]) return /^(enabled|on)$/i.test(match[1]);
  }
  return undefined;
}

function parseApps(text: string, warnings: string[]): AlfApp[] | undefined {
  const header = /^\s*(?:ALF:\s*)?total number of apps\s*=\s*(\d+)/im.exec(text);
  if (!header) return undefined;
  const declared = Number(header[1]);
  const apps: AlfApp[] = [];
  const lines = text.slice(header.index + header[0].length).split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const entry = /^\s*\d+\s*:\s+(\S.*?)\s*$/.exec(lines[index] ?? '');
    if (!entry) continue;
    // The verdict is on the next non-empty line; older releases pad it with a tab and spaces.
    const next = lines.slice(index + 1).find((line) => line.trim() !== '') ?? '';
    const verdict = /\(\s*(Allow|Block)\s+incoming connections\s*\)/i.exec(next);
    if (!verdict) {
      warnings.push(`socketfilterfw lists ${entry[1]} without an allow/block line`);
      continue;
    }
    apps.push({ path: entry[1] as string, allowed: verdict[1]?.toLowerCase() === 'allow' });
  }
  if (apps.length !== declared) {
    warnings.push(`socketfilterfw says it lists ${declared} app(s) but ${apps.length} could be read (partial output)`);
  }
  return apps;
}

/** socketfilterfw's output (any of its --get options and --listapps, in one run) → its settings. Pure. */
export function parseSocketfilterfw(text: string): AlfState {
  const warnings: string[] = [];
  const clean = text.replace(/^\uFEFF/, '');
  const stateMatch = /\(State = (\d+)\)/.exec(clean);
  const stateNumber = stateMatch ? Number(stateMatch[1]) : undefined;
  let state: AlfState['state'];
  if (stateNumber === 0 || stateNumber === 1 || stateNumber === 2) state = stateNumber;
  else if (/Firewall is disabled/i.test(clean)) state = 0;
  else if (/Firewall is enabled/i.test(clean)) state = 1;
  if (stateNumber !== undefined && state === undefined) warnings.push(`an unknown firewall state ${stateNumber}`);
  if (state === undefined) warnings.push('socketfilterfw did not say whether the firewall is on');
  const blockAll = onOff(clean, [
    /Block all (ENABLED|DISABLED)!/i,
    /block all state set to (enabled|disabled)/i,
    /Block all is (on|off)/i,
  ]);
  const stealth = onOff(clean, [/Stealth mode (enabled|disabled)/i, /stealth mode is (on|off)/i]);
  const allowSignedBuiltIn = onOff(clean, [
    /allow (?:signed )?built-in (?:signed )?software (ENABLED|DISABLED)/i,
    /allow signed software (ENABLED|DISABLED)/i,
  ]);
  const allowSignedDownloaded = onOff(clean, [/allow downloaded signed software (ENABLED|DISABLED)/i]);
  return {
    state,
    blockAll,
    stealth,
    allowSignedBuiltIn,
    allowSignedDownloaded,
    apps: parseApps(clean, warnings),
    warnings,
  };
}

/** The app bundle a program file lives in (`/Applications/X.app/Contents/MacOS/X` → `/Applications/X.app`). */
export function bundleOf(program: string): string | undefined {
  const match = /^(.*?\.app)\/Contents\//.exec(program);
  return match?.[1];
}

/** The list's entry for a program: its own path, or the app bundle it belongs to. */
export function alfEntryFor(apps: readonly AlfApp[], program: string): AlfApp | undefined {
  const bundle = bundleOf(program);
  return (
    apps.find((app) => app.path === program) ??
    apps.find((app) => app.path === bundle || program.startsWith(`${app.path.replace(/\/$/, '')}/`))
  );
}
