import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { CliResult, runCli, summarize } from '../src/process';

// A stand-in for mbt: prints its arguments and cwd as JSON, and exits with the code in $EXIT.
let directory: string;
let script: string;

before(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'mbt-process-'));
  script = path.join(directory, 'fake-mbt.js');
  fs.writeFileSync(
    script,
    `process.stdout.write(JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd(), env: process.env.MBT_TARGET }) + '\\n');
     if (process.env.EXIT) { process.stderr.write('[MBT1008] Error: pipeline \\u0060x\\u0060 not found\\n  help: expected one of: \\u0060a\\u0060\\n'); process.exit(Number(process.env.EXIT)); }`,
  );
});

after(() => fs.rmSync(directory, { recursive: true, force: true }));

test('arguments reach the program verbatim: no shell expansion', async () => {
  const args = ['compile', '$(echo hacked)', '`id`', 'a b', '*', "it's", ''];
  const result = await runCli(process.execPath, [script, ...args], { cwd: directory, env: { ...process.env, MBT_TARGET: 'dev' }, timeoutMs: 20_000 });
  assert.equal(result.exitCode, 0);
  const printed = JSON.parse(result.stdout);
  assert.deepEqual(printed.args, args);
  assert.equal(fs.realpathSync(printed.cwd), fs.realpathSync(directory));
  assert.equal(printed.env, 'dev');
});

test('a failing run keeps its exit code and stderr', async () => {
  const result = await runCli(process.execPath, [script], { cwd: directory, env: { ...process.env, EXIT: '1' }, timeoutMs: 20_000 });
  assert.equal(result.exitCode, 1);
  assert.equal(result.spawnError, undefined);
  assert.match(result.stderr, /MBT1008/);
});

test('a missing binary is a spawn error, not an exit code', async () => {
  const result = await runCli(path.join(directory, 'no-such-mbt'), ['lsp'], { cwd: directory, env: process.env, timeoutMs: 20_000 });
  assert.equal(result.exitCode, undefined);
  assert.match(result.spawnError ?? '', /ENOENT/);
});

const result = (overrides: Partial<CliResult>): CliResult => ({ exitCode: 0, stdout: '', stderr: '', spawnError: undefined, ...overrides });

test('summaries follow the CLI exit codes', () => {
  assert.deepEqual(summarize('compile a', result({ stdout: 'compiled a (target dev) -> target/a/manifest.json\n  6 steps\n' })), {
    ok: true,
    summary: 'MBT: compiled a (target dev) -> target/a/manifest.json',
  });
  assert.deepEqual(summarize('compile a', result({})), { ok: true, summary: 'MBT: compile a: done' });
  assert.deepEqual(summarize('compile a', result({ exitCode: 1, stderr: '\n[MBT2001] Error: unknown key `x`\n  help: did you mean\n' })), {
    ok: false,
    summary: 'MBT: compile a failed (errors reported): [MBT2001] Error: unknown key `x`',
  });
  assert.deepEqual(summarize('compile a', result({ exitCode: 2, stderr: 'usage: mbt compile\n' })), {
    ok: false,
    summary: 'MBT: compile a failed (usage or internal error): usage: mbt compile',
  });
  assert.deepEqual(summarize('compile a', result({ exitCode: undefined, spawnError: 'ENOENT: spawn mbt' })), {
    ok: false,
    summary: 'MBT: compile a: could not run mbt (ENOENT: spawn mbt)',
  });
});
