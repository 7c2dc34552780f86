// Settings of the extension, normalized from whatever the user wrote in settings.json.
// Pure: takes a getter instead of `vscode.workspace.getConfiguration`, so it is unit-tested.

export type Trace = 'off' | 'messages' | 'verbose';

export interface Settings {
  /** The `mbt` binary as configured (a bare name, or a path; `~` expanded). */
  serverPath: string;
  /** Extra arguments after `mbt lsp`. */
  serverExtraArgs: string[];
  /** Extra environment variables for the server and the commands. */
  serverEnv: Record<string, string>;
  trace: Trace;
  /** `--target` for the commands, or undefined for the CLI's own default. */
  target: string | undefined;
  /** `k=v` pairs for `--vars`. */
  vars: string[];
}

/** Reads one setting under `mbt.`, e.g. `get('server.path')`; undefined when unset. */
export type SettingGetter = (key: string) => unknown;

export const DEFAULT_SERVER_PATH = 'mbt';

/** The setting keys whose change needs a server restart. */
export const RESTART_KEYS = ['mbt.server.path', 'mbt.server.extraArgs', 'mbt.server.env'];

export function readSettings(get: SettingGetter, home: string | undefined): Settings {
  const rawPath = get('server.path');
  let serverPath = typeof rawPath === 'string' ? rawPath.trim() : '';
  if (serverPath === '') {
    serverPath = DEFAULT_SERVER_PATH;
  }
  serverPath = expandHome(serverPath, home);

  const rawTrace = get('trace.server');
  const trace: Trace = rawTrace === 'messages' || rawTrace === 'verbose' ? rawTrace : 'off';

  const rawTarget = get('target');
  const target = typeof rawTarget === 'string' && rawTarget.trim() !== '' ? rawTarget.trim() : undefined;

  return {
    serverPath,
    serverExtraArgs: stringArray(get('server.extraArgs')),
    serverEnv: stringRecord(get('server.env')),
    trace,
    target,
    vars: stringArray(get('vars')).filter((pair) => /^[^=]+=/.test(pair)),
  };
}

/** `~` and `~/x` become the home directory; other paths are kept. */
export function expandHome(path: string, home: string | undefined): string {
  if (home === undefined || home === '') {
    return path;
  }
  if (path === '~') {
    return home;
  }
  if (path.startsWith('~/') || path.startsWith('~\\')) {
    return home.replace(/[\\/]+$/, '') + path.slice(1);
  }
  return path;
}

function stringArray(value: unknown): string[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value.filter((item): item is string => typeof item === 'string' && item !== '');
}

function stringRecord(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return result;
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') {
      result[key] = item;
    } else if (typeof item === 'number' || typeof item === 'boolean') {
      result[key] = String(item);
    }
  }
  return result;
}
