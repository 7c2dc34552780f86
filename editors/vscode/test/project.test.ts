// The server's `mbt/describeFile` answer turned into the pipeline a command runs. The rules
// themselves (root search, pipeline names, skipped directories) are the server's and are tested
// there (lsp/tests/protocol.rs) and with the real mbt in realCli.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { choosePipeline, DESCRIBE_FILE_METHOD, describeFileParams, FileDescription, isFileDescription } from '../src/project';

const description = (overrides: Partial<FileDescription> = {}): FileDescription => ({
  root: '/p',
  relative: 'pipelines/churn.yaml',
  kind: 'pipeline',
  pipeline: 'churn',
  ...overrides,
});

test('the request is mbt/describeFile with the document uri', () => {
  assert.equal(DESCRIBE_FILE_METHOD, 'mbt/describeFile');
  assert.deepEqual(describeFileParams('file:///p/pipelines/churn.yaml'), { textDocument: { uri: 'file:///p/pipelines/churn.yaml' } });
});

test('a pipeline runs in the project root the server found', () => {
  assert.deepEqual(choosePipeline(description(), 'pipelines/churn.yaml'), { ok: true, pipeline: 'churn', projectDir: '/p' });
  const nested = description({ root: 'C:\\p', relative: 'pipelines/team/b.yml', pipeline: 'b' });
  assert.deepEqual(choosePipeline(nested, 'x'), { ok: true, pipeline: 'b', projectDir: 'C:\\p' });
});

test('a base is passed on: mbt itself says it cannot be compiled alone', () => {
  const base = description({ relative: 'pipelines/_base.yaml', kind: 'base', pipeline: '_base' });
  assert.deepEqual(choosePipeline(base, 'x'), { ok: true, pipeline: '_base', projectDir: '/p' });
});

test('files without a pipeline say what to open', () => {
  for (const [relative, kind] of [
    ['profiles.yaml', 'profiles'],
    ['includes/schema.yaml', 'include'],
    ['tests/a.test.yaml', 'test'],
    ['pipelines/target/a.yaml', 'other'],
  ] as const) {
    const choice = choosePipeline(description({ relative, kind, pipeline: null }), relative);
    assert.deepEqual(choice, { ok: false, level: 'warning', message: `MBT: ${relative} is not a pipeline: open a file under pipelines/.` });
  }
});

test('no project: the file is named as the editor shows it', () => {
  assert.deepEqual(choosePipeline(null, 'notes/a.yaml'), {
    ok: false,
    level: 'warning',
    message: 'MBT: notes/a.yaml is not in an MBT project (no profiles.yaml, or pyproject.toml beside pipelines/, in its folder or above).',
  });
});

test('an answer of another shape is an error, never a guess', () => {
  for (const answer of [{}, 'churn', { ...description(), kind: 'module' }, { ...description(), pipeline: 3 }, { root: '/p' }]) {
    assert.equal(isFileDescription(answer), false, JSON.stringify(answer));
    const choice = choosePipeline(answer, 'x');
    assert.equal(choice.ok, false);
    assert.equal(!choice.ok && choice.level, 'error');
    assert.match(!choice.ok ? choice.message : '', /unexpected answer from the language server to mbt\/describeFile/);
  }
  assert.equal(isFileDescription(description()), true);
  assert.equal(isFileDescription(description({ pipeline: null, kind: 'other' })), true);
});
