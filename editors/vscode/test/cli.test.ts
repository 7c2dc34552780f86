import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cliArgs, CommandRequest, displayCommandLine, planCommand, SERVER_COMMANDS, serverResultText } from '../src/cli';

const request = (overrides: Partial<CommandRequest> = {}): CommandRequest => ({
  kind: 'compile',
  pipeline: 'churn_gbm_v1',
  projectDir: '/p',
  target: undefined,
  vars: [],
  ...overrides,
});

test('compile: options, then -- and the pipeline', () => {
  assert.deepEqual(cliArgs(request()), ['compile', '--project-dir', '/p', '--color', 'never', '--', 'churn_gbm_v1']);
});

test('show resolved and dag use their flags', () => {
  assert.deepEqual(cliArgs(request({ kind: 'showResolved' })), ['validate', '--show-resolved', '--project-dir', '/p', '--color', 'never', '--', 'churn_gbm_v1']);
  assert.deepEqual(cliArgs(request({ kind: 'dag' })), ['dag', '--mermaid', '--project-dir', '/p', '--color', 'never', '--', 'churn_gbm_v1']);
});

test('target and each var are separate arguments', () => {
  assert.deepEqual(cliArgs(request({ target: 'prod', vars: ['a=1', 'b=x y'] })), [
    'compile', '--project-dir', '/p', '--target', 'prod', '--vars', 'a=1', '--vars', 'b=x y', '--color', 'never', '--', 'churn_gbm_v1',
  ]);
});

test('a pipeline named like a flag stays a positional argument', () => {
  assert.deepEqual(cliArgs(request({ pipeline: '--help' })).slice(-2), ['--', '--help']);
});

test('paths with spaces and quotes are single arguments (no shell)', () => {
  const args = cliArgs(request({ projectDir: "/my projects/it's here" }));
  assert.equal(args[2], "/my projects/it's here");
});

test('the CLI is used when the server is not running or does not offer the command', () => {
  assert.deepEqual(planCommand(request(), undefined), { via: 'cli', args: cliArgs(request()) });
  assert.deepEqual(planCommand(request(), []), { via: 'cli', args: cliArgs(request()) });
  assert.deepEqual(planCommand(request({ kind: 'dag' }), [SERVER_COMMANDS.compile]).via, 'cli');
});

test('the server is used when it advertises the command', () => {
  assert.deepEqual(planCommand(request({ kind: 'dag', target: 'dev', vars: ['a=1'] }), ['x', 'mbt/dag']), {
    via: 'server',
    command: 'mbt/dag',
    arguments: [{ pipeline: 'churn_gbm_v1', projectDir: '/p', target: 'dev', vars: ['a=1'] }],
  });
  assert.deepEqual(planCommand(request(), ['mbt/compile']), {
    via: 'server',
    command: 'mbt/compile',
    arguments: [{ pipeline: 'churn_gbm_v1', projectDir: '/p' }],
  });
});

test('server command ids differ from the extension command ids', () => {
  for (const id of Object.values(SERVER_COMMANDS)) {
    assert.ok(!['mbt.compile', 'mbt.showResolved', 'mbt.showDag', 'mbt.restartServer'].includes(id));
  }
});

test('server results: a string or { text }', () => {
  assert.equal(serverResultText('graph TD'), 'graph TD');
  assert.equal(serverResultText({ text: 'a: 1' }), 'a: 1');
  assert.equal(serverResultText({ text: 1 }), undefined);
  assert.equal(serverResultText(null), undefined);
  assert.equal(serverResultText(undefined), undefined);
});

test('display quoting', () => {
  assert.equal(displayCommandLine('/usr/bin/mbt', ['compile', '--', 'a_b']), '/usr/bin/mbt compile -- a_b');
  assert.equal(displayCommandLine('mbt', ['--project-dir', "/a b/it's"]), `mbt --project-dir '/a b/it'\\''s'`);
});
