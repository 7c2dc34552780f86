// Runs `mbt` without a shell and turns its result into a message for the user.
// No `vscode` import: unit-tested with a stand-in script.

import { execFile } from 'node:child_process';

export interface CliResult {
  /** The exit code, or undefined when the process could not start or was killed. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** Why the process could not run (e.g. ENOENT), if it could not. */
  spawnError: string | undefined;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

export function runCli(binary: string, args: readonly string[], options: RunOptions): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      binary,
      [...args],
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024, windowsHide: true, shell: false },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ exitCode: 0, stdout, stderr, spawnError: undefined });
          return;
        }
        const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
        if (typeof code === 'number') {
          resolve({ exitCode: code, stdout, stderr, spawnError: undefined });
        } else if (error.killed || (error as { signal?: unknown }).signal) {
          resolve({ exitCode: undefined, stdout, stderr, spawnError: `stopped after ${options.timeoutMs / 1000} s or killed` });
        } else {
          resolve({ exitCode: undefined, stdout, stderr, spawnError: typeof code === 'string' ? `${code}: ${error.message}` : error.message });
        }
      },
    );
  });
}

export type Outcome = { ok: true; summary: string } | { ok: false; summary: string };

/** A one-line summary of a CLI run, following the CLI's exit codes (0 ok, 1 errors reported, 2 usage or internal error). */
export function summarize(what: string, result: CliResult): Outcome {
  if (result.spawnError !== undefined) {
    return { ok: false, summary: `MBT: ${what}: could not run mbt (${result.spawnError})` };
  }
  if (result.exitCode === 0) {
    const first = firstLine(result.stdout) ?? firstLine(result.stderr);
    return { ok: true, summary: first === undefined ? `MBT: ${what}: done` : `MBT: ${first}` };
  }
  const reason = result.exitCode === 1 ? 'errors reported' : 'usage or internal error';
  const detail = lastErrorLine(result.stderr);
  return { ok: false, summary: `MBT: ${what} failed (${reason})${detail === undefined ? '' : `: ${detail}`}` };
}

function firstLine(text: string): string | undefined {
  return text.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== '');
}

function lastErrorLine(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  return lines.find((line) => /\berror\b/i.test(line)) ?? lines[0];
}
