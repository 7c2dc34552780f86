// Finds the `mbt` executable before starting the server, so a missing binary gives one clear,
// actionable message instead of the language client's generic "couldn't start" error.
// Pure: the file system and environment are passed in.

import * as path from 'node:path';

export interface ResolveEnvironment {
  /** `process.platform`. */
  platform: string;
  /** The `PATH` (or `Path`) variable. */
  pathVariable: string | undefined;
  /** `PATHEXT` on Windows. */
  pathExtVariable: string | undefined;
  /** Where a relative configured path starts from (the first workspace folder). */
  baseDirectory: string | undefined;
  /** Is this an executable regular file? */
  isExecutable: (file: string) => boolean;
}

export type Resolution =
  | { found: true; path: string }
  | { found: false; configured: string; searched: string[]; message: string };

export function resolveExecutable(configured: string, environment: ResolveEnvironment): Resolution {
  const pathApi = environment.platform === 'win32' ? path.win32 : path.posix;
  const extensions = executableExtensions(environment);
  const hasSeparator = configured.includes('/') || (environment.platform === 'win32' && configured.includes('\\'));
  const candidates: string[] = [];
  if (hasSeparator || pathApi.isAbsolute(configured)) {
    const base = environment.baseDirectory;
    const absolute = pathApi.isAbsolute(configured) || base === undefined ? configured : pathApi.resolve(base, configured);
    candidates.push(...withExtensions(absolute, extensions));
  } else {
    const delimiter = environment.platform === 'win32' ? ';' : ':';
    const directories = (environment.pathVariable ?? '').split(delimiter).filter((directory) => directory !== '');
    for (const directory of directories) {
      candidates.push(...withExtensions(pathApi.join(directory, configured), extensions));
    }
  }
  for (const candidate of candidates) {
    if (environment.isExecutable(candidate)) {
      return { found: true, path: candidate };
    }
  }
  return { found: false, configured, searched: candidates, message: missingMessage(configured, hasSeparator) };
}

export function missingMessage(configured: string, isPath: boolean): string {
  const where = isPath
    ? `"${configured}" (from the mbt.server.path setting) does not exist or is not executable.`
    : `"${configured}" was not found on PATH.`;
  return (
    `MBT: cannot start the language server: ${where} ` +
    'Install mbt (in the MBT repository: `cargo install --path .`) or set "mbt.server.path" to the mbt binary, ' +
    'then run "MBT: Restart Language Server".'
  );
}

function executableExtensions(environment: ResolveEnvironment): string[] {
  if (environment.platform !== 'win32') {
    return [''];
  }
  const pathExt = environment.pathExtVariable ?? '.COM;.EXE;.BAT;.CMD';
  return ['', ...pathExt.split(';').filter((extension) => extension !== '').map((extension) => extension.toLowerCase())];
}

function withExtensions(file: string, extensions: string[]): string[] {
  return [...new Set(extensions.map((extension) => file + extension))];
}
