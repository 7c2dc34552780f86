import assert from 'node:assert/strict';
import { test } from 'node:test';

import { expandHome, readSettings } from '../src/settings';

const from = (values: Record<string, unknown>) => (key: string) => values[key];

test('defaults when nothing is set', () => {
  assert.deepEqual(readSettings(from({}), '/home/u'), {
    serverPath: 'mbt',
    serverExtraArgs: [],
    serverEnv: {},
    trace: 'off',
    target: undefined,
    vars: [],
  });
});

test('an empty or blank server path falls back to mbt on PATH', () => {
  assert.equal(readSettings(from({ 'server.path': '   ' }), '/h').serverPath, 'mbt');
  assert.equal(readSettings(from({ 'server.path': 42 }), '/h').serverPath, 'mbt');
});

test('server path is trimmed and ~ expanded', () => {
  assert.equal(readSettings(from({ 'server.path': ' ~/.cargo/bin/mbt ' }), '/home/u').serverPath, '/home/u/.cargo/bin/mbt');
  assert.equal(readSettings(from({ 'server.path': '/opt/mbt' }), '/home/u').serverPath, '/opt/mbt');
});

test('expandHome leaves other paths and a missing home alone', () => {
  assert.equal(expandHome('~', '/home/u/'), '/home/u/');
  assert.equal(expandHome('~/x', '/home/u/'), '/home/u/x');
  assert.equal(expandHome('~other/x', '/home/u'), '~other/x');
  assert.equal(expandHome('~/x', undefined), '~/x');
  assert.equal(expandHome('C:\\mbt.exe', 'C:\\Users\\u'), 'C:\\mbt.exe');
});

test('extra args keep only non-empty strings, in order', () => {
  assert.deepEqual(readSettings(from({ 'server.extraArgs': ['--log', 3, '', 'x', null] }), '/h').serverExtraArgs, ['--log', 'x']);
  assert.deepEqual(readSettings(from({ 'server.extraArgs': '--log' }), '/h').serverExtraArgs, []);
});

test('env keeps strings and stringifies numbers and booleans', () => {
  assert.deepEqual(readSettings(from({ 'server.env': { A: 'x', B: 2, C: true, D: null, E: {} } }), '/h').serverEnv, { A: 'x', B: '2', C: 'true' });
  assert.deepEqual(readSettings(from({ 'server.env': ['A=x'] }), '/h').serverEnv, {});
});

test('trace accepts only the three levels', () => {
  assert.equal(readSettings(from({ 'trace.server': 'verbose' }), '/h').trace, 'verbose');
  assert.equal(readSettings(from({ 'trace.server': 'messages' }), '/h').trace, 'messages');
  assert.equal(readSettings(from({ 'trace.server': 'loud' }), '/h').trace, 'off');
});

test('target: blank means the CLI default', () => {
  assert.equal(readSettings(from({ target: '' }), '/h').target, undefined);
  assert.equal(readSettings(from({ target: ' prod ' }), '/h').target, 'prod');
});

test('vars keep only k=v pairs', () => {
  assert.deepEqual(readSettings(from({ vars: ['a=1', 'b', '=c', 'd=', 'e=x=y'] }), '/h').vars, ['a=1', 'd=', 'e=x=y']);
});
