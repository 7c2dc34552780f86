import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { describeFile, findProjectRoot, pipelineName } from '../src/project';

const files = (...names: string[]) => (candidate: string) => names.includes(candidate);

test('the root is the nearest ancestor with profiles.yaml or pyproject.toml', () => {
  const isFile = files('/repo/pyproject.toml', '/repo/sub/project/profiles.yaml');
  assert.equal(findProjectRoot('/repo/sub/project/pipelines/a.yaml', isFile), '/repo/sub/project');
  assert.equal(findProjectRoot('/repo/sub/other/pipelines/a.yaml', isFile), '/repo');
  assert.equal(findProjectRoot('/repo/pyproject.toml', isFile), '/repo');
});

test('a pipelines/ folder alone does not make a root (as in mbt)', () => {
  assert.equal(findProjectRoot('/x/pipelines/a.yaml', files('/x/pipelines/a.yaml')), undefined);
});

test('windows paths', () => {
  const isFile = files('C:\\p\\profiles.yaml');
  assert.equal(findProjectRoot('C:\\p\\pipelines\\a.yaml', isFile, path.win32), 'C:\\p');
  assert.deepEqual(describeFile('C:\\p\\pipelines\\nested\\b.yml', isFile, path.win32), {
    root: 'C:\\p',
    relative: 'pipelines/nested/b.yml',
    kind: 'pipeline',
    pipeline: 'b',
  });
});

test('pipeline names are stems of files under pipelines/, at any depth', () => {
  assert.equal(pipelineName('pipelines/churn_gbm_v1.yaml'), 'churn_gbm_v1');
  assert.equal(pipelineName('pipelines/team/churn.yml'), 'churn');
  assert.equal(pipelineName('pipelines/_base.yaml'), '_base');
  assert.equal(pipelineName('pipelines/my.model.yaml'), 'my.model');
  assert.equal(pipelineName('includes/schema.yaml'), undefined);
  assert.equal(pipelineName('other/pipelines/a.yaml'), undefined);
  assert.equal(pipelineName('pipelines/readme.md'), undefined);
  assert.equal(pipelineName('pipelines/.yaml'), undefined);
});

test('files the CLI skips are not pipelines (hidden, target, node_modules...)', () => {
  assert.equal(pipelineName('pipelines/.draft.yaml'), undefined);
  assert.equal(pipelineName('pipelines/.old/a.yaml'), undefined);
  assert.equal(pipelineName('pipelines/target/a.yaml'), undefined);
  assert.equal(pipelineName('pipelines/node_modules/a.yaml'), undefined);
});

test('file kinds', () => {
  const isFile = files('/p/profiles.yaml');
  const kind = (relative: string) => describeFile(`/p/${relative}`, isFile)?.kind;
  assert.equal(kind('pipelines/a.yaml'), 'pipeline');
  assert.equal(kind('pipelines/_base.yaml'), 'base');
  assert.equal(kind('includes/schema.yaml'), 'include');
  assert.equal(kind('profiles.yaml'), 'profiles');
  assert.equal(kind('tests/a.test.yaml'), 'test');
  assert.equal(kind('tests/deep/a.test.yaml'), 'other');
  assert.equal(kind('lib/x.py'), 'other');
  assert.equal(describeFile('/elsewhere/a.yaml', isFile), undefined);
});

test('on disk: the example project', () => {
  const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'telecom-churn');
  const isFile = (candidate: string) => fs.existsSync(candidate) && fs.statSync(candidate).isFile();
  assert.deepEqual(describeFile(path.join(example, 'pipelines', 'churn_gbm_v1.yaml'), isFile), {
    root: example,
    relative: 'pipelines/churn_gbm_v1.yaml',
    kind: 'pipeline',
    pipeline: 'churn_gbm_v1',
  });
});

test('on disk: a temp project nested in a pyproject repository', () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'mbt-vscode-'));
  try {
    fs.writeFileSync(path.join(top, 'pyproject.toml'), '[project]\nname = "x"\n');
    fs.mkdirSync(path.join(top, 'inner', 'pipelines'), { recursive: true });
    fs.writeFileSync(path.join(top, 'inner', 'profiles.yaml'), 'x: {}\n');
    fs.writeFileSync(path.join(top, 'inner', 'pipelines', 'p.yaml'), 'schema_version: 1\n');
    const isFile = (candidate: string) => fs.existsSync(candidate) && fs.statSync(candidate).isFile();
    assert.equal(findProjectRoot(path.join(top, 'inner', 'pipelines', 'p.yaml'), isFile), path.join(top, 'inner'));
    fs.rmSync(path.join(top, 'inner', 'profiles.yaml'));
    assert.equal(findProjectRoot(path.join(top, 'inner', 'pipelines', 'p.yaml'), isFile), top);
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});
