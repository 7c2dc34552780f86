// package.json's contributions agree with the code, the schemas and the example project.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { minimatch } from 'minimatch';

const extensionDir = path.resolve(__dirname, '..');
const repository = path.resolve(extensionDir, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
const extensionSource = fs.readFileSync(path.join(extensionDir, 'src', 'extension.ts'), 'utf8');

function walk(directory: string): string[] {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) {
      return entry.name === 'target' || entry.name.startsWith('.') ? [] : walk(full);
    }
    return [full];
  });
}

test('every contributed command is registered, and every registered command contributed', () => {
  const contributed = manifest.contributes.commands.map((command: { command: string }) => command.command).sort();
  const registered = [...extensionSource.matchAll(/registerCommand\('([^']+)'/g)].map((match) => match[1]).sort();
  assert.deepEqual(registered, contributed);
  for (const menu of Object.values(manifest.contributes.menus) as { command: string }[][]) {
    for (const item of menu) {
      assert.ok(contributed.includes(item.command), item.command);
    }
  }
});

test('yamlValidation points at schemas the repository generates', () => {
  for (const entry of manifest.contributes.yamlValidation) {
    assert.match(entry.url, /^\.\/schemas\/[a-z.]+\.schema\.json$/);
    assert.ok(fs.existsSync(path.join(repository, entry.url.replace('./', ''))), entry.url);
  }
});

test('the language covers the example project files, and only them', () => {
  const [language] = manifest.contributes.languages;
  assert.equal(language.id, 'mbt-yaml');
  const example = path.join(repository, 'examples', 'telecom-churn');
  const matched = walk(example)
    .filter((file) => language.filenamePatterns.some((pattern: string) => minimatch(file, pattern, { dot: true })))
    .map((file) => path.relative(example, file).split(path.sep).join('/'))
    .sort();
  assert.deepEqual(
    matched.filter((file) => !file.startsWith('pipelines/')),
    ['includes/telecom_schema.yaml', 'profiles.yaml', ...matched.filter((file) => file.startsWith('tests/'))],
  );
  assert.ok(matched.includes('pipelines/churn_gbm_v1.yaml'));
  assert.ok(matched.some((file) => file.startsWith('tests/') && file.endsWith('.test.yaml')));
  assert.ok(!matched.some((file) => file.endsWith('.py') || file.endsWith('.csv') || file.endsWith('pyproject.toml')));
});

test('each yamlValidation fileMatch is one of the language patterns', () => {
  const patterns: string[] = manifest.contributes.languages[0].filenamePatterns;
  for (const entry of manifest.contributes.yamlValidation) {
    for (const fileMatch of [entry.fileMatch].flat()) {
      assert.ok(patterns.includes(fileMatch), fileMatch);
    }
  }
});

test('grammars and language configuration exist and parse', () => {
  for (const grammar of manifest.contributes.grammars) {
    const parsed = JSON.parse(fs.readFileSync(path.join(extensionDir, grammar.path), 'utf8'));
    assert.equal(parsed.scopeName, grammar.scopeName);
  }
  JSON.parse(fs.readFileSync(path.join(extensionDir, manifest.contributes.languages[0].configuration), 'utf8'));
});

test('the template injection matches var, env_var and secret', () => {
  const injection = JSON.parse(fs.readFileSync(path.join(extensionDir, 'syntaxes', 'mbt-template.injection.tmLanguage.json'), 'utf8'));
  const functionPattern = new RegExp(injection.repository.template.patterns[0].match);
  for (const name of ['var', 'env_var', 'secret']) {
    assert.ok(functionPattern.test(`${name}('x')`), name);
  }
  assert.ok(!functionPattern.test('variable'));
});

test('versions are pinned exactly and vsce will not prompt', () => {
  for (const [name, version] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
    assert.match(String(version), /^\d+\.\d+\.\d+$/, name);
  }
  assert.match(manifest.vendored.mermaid.version, /^\d+\.\d+\.\d+$/);
  assert.match(manifest.vendored.mermaid.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
  assert.equal(manifest.engines.vscode, '^1.91.0');
  assert.ok(manifest.repository?.url);
  assert.ok(manifest.publisher);
  assert.ok(fs.existsSync(path.join(extensionDir, 'LICENSE')));
  assert.equal(manifest.main, './dist/extension.js');
});

test('only the glue files import vscode', () => {
  const glue = ['extension.ts'];
  for (const file of fs.readdirSync(path.join(extensionDir, 'src'))) {
    const text = fs.readFileSync(path.join(extensionDir, 'src', file), 'utf8');
    const importsVscode = /from 'vscode'|require\('vscode'\)/.test(text);
    assert.equal(importsVscode, glue.includes(file), file);
  }
});
