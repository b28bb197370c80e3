/**
 * porthole's folders on each system, in one place: state (what a run made and must be able to
 * undo), configuration, and data (the check service's record, the relay's keys). Linux and other
 * Unix follow the XDG base directories; Windows keeps state and data in %LOCALAPPDATA% (this
 * machine only) and configuration in %APPDATA% (roams with the user); macOS keeps all three under
 * ~/Library/Application Support, unless XDG variables are set (people who set them mean it).
 */
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

/** The kinds of folder porthole keeps. */
export type FolderKind = 'state' | 'config' | 'data';

/** The system whose conventions apply (Node's `process.platform` names). */
export type FolderPlatform = NodeJS.Platform;

/** Options for portholeFolder. */
export interface FolderOptions {
  readonly platform?: FolderPlatform;
  /**
   * Whether the process's home directory may stand in when `env` names none. True when `env` is
   * the process's own environment; a test's `{}` then gets no folder rather than the user's own.
   */
  readonly processHome?: boolean;
}

const XDG: Readonly<Record<FolderKind, { readonly variable: string; readonly under: readonly string[] }>> = {
  state: { variable: 'XDG_STATE_HOME', under: ['.local', 'state'] },
  config: { variable: 'XDG_CONFIG_HOME', under: ['.config'] },
  data: { variable: 'XDG_DATA_HOME', under: ['.local', 'share'] },
};

/** A variable counts only when set to something: an empty one is the same as unset (XDG spec). */
function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value !== undefined && value !== '' ? value : undefined;
}

function home(env: NodeJS.ProcessEnv, options: FolderOptions, platform: FolderPlatform): string | undefined {
  const named = platform === 'win32' ? setting(env, 'USERPROFILE') : setting(env, 'HOME');
  if (named) return named;
  return (options.processHome ?? env === process.env) ? homedir() : undefined;
}

function windowsFolder(kind: FolderKind, env: NodeJS.ProcessEnv, userHome: string | undefined): string | undefined {
  const roaming = setting(env, 'APPDATA') ?? (userHome ? win32.join(userHome, 'AppData', 'Roaming') : undefined);
  const local = setting(env, 'LOCALAPPDATA') ?? (userHome ? win32.join(userHome, 'AppData', 'Local') : undefined);
  if (kind === 'config') return roaming ? win32.join(roaming, 'porthole') : undefined;
  if (!local) return undefined;
  return kind === 'state' ? win32.join(local, 'porthole') : win32.join(local, 'porthole', 'data');
}

/**
 * porthole's folder of one kind, or undefined when `env` names no home (and may not borrow the
 * process's). Pure apart from the home directory fallback.
 */
export function portholeFolder(
  kind: FolderKind,
  env: NodeJS.ProcessEnv = process.env,
  options: FolderOptions = {},
): string | undefined {
  const platform = options.platform ?? process.platform;
  const userHome = home(env, options, platform);
  if (platform === 'win32') return windowsFolder(kind, env, userHome);
  const { variable, under } = XDG[kind];
  const xdg = setting(env, variable);
  // The XDG spec: a relative path is invalid and ignored (records must not land wherever the command ran).
  if (xdg && posix.isAbsolute(xdg)) return posix.join(xdg, 'porthole');
  if (!userHome) return undefined;
  if (platform === 'darwin') {
    const support = posix.join(userHome, 'Library', 'Application Support', 'porthole');
    return kind === 'config' ? support : posix.join(support, kind);
  }
  return posix.join(userHome, ...under, 'porthole');
}

/**
 * The folder where one must exist (state and data: a record has to go somewhere): the process's
 * home stands in when `env` names none.
 */
export function requiredFolder(kind: FolderKind, env: NodeJS.ProcessEnv = process.env): string {
  return portholeFolder(kind, env, { processHome: true }) as string;
}

/** The system-wide configuration file of each system ($PORTHOLE_SYSTEM_CONFIG moves it). */
export function systemConfigFile(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const named = setting(env, 'PORTHOLE_SYSTEM_CONFIG');
  if (named) return named;
  if (platform === 'win32')
    return win32.join(setting(env, 'ProgramData') ?? 'C:\\ProgramData', 'porthole', 'config.yaml');
  if (platform === 'darwin') return '/Library/Application Support/porthole/config.yaml';
  return '/etc/porthole/config.yaml';
}
