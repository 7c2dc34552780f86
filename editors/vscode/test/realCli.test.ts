// The command lines the extension builds, run by the real `mbt` on a copy of the example project,
// for the pipeline the real `mbt lsp` names (`mbt/describeFile`), as the commands ask it.
// Needs MBT_BIN (scripts/test.sh sets it to the binary cargo just built); without it these tests
// are skipped with a reason.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';

import { resolveExecutable } from '../src/binary';
import { cliArgs, CommandRequest } from '../src/cli';
import { dagHtml } from '../src/dagHtml';
import { runCli, summarize } from '../src/process';
import { choosePipeline, DESCRIBE_FILE_METHOD, describeFileParams } from '../src/project';
import { LspProcess } from './lspProcess';

const binary = process.env.MBT_BIN;
const skip = binary === undefined || binary === '' ? 'MBT_BIN is not set (scripts/test.sh sets it to the built mbt)' : false;
let project: string;
let server: LspProcess | undefined;

before(async () => {
  if (skip) {
    console.log(`# skipping real-CLI tests: ${skip}`);
    return;
  }
  assert.ok(fs.existsSync(binary!), `MBT_BIN=${binary} does not exist`);
  project = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mbt-vscode-cli-')), 'telecom-churn');
  const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'telecom-churn');
  fs.cpSync(example, project, { recursive: true, filter: (source) => !/[\\/](target|local_artifacts|local_registry)$/.test(source) });
  server = await LspProcess.start(binary!, project);
});

after(async () => {
  await server?.stop();
  if (project !== undefined) {
    fs.rmSync(path.dirname(project), { recursive: true, force: true });
  }
});

const describe = (file: string) => server!.request(DESCRIBE_FILE_METHOD, describeFileParams(pathToFileURL(file).href));

/** The request the extension builds for a file: the pipeline and project from the real server. */
async function requestFor(kind: CommandRequest['kind'], file: string): Promise<CommandRequest> {
  const choice = choosePipeline(await describe(path.join(project, file)), file);
  assert.ok(choice.ok, JSON.stringify(choice));
  return { kind, pipeline: choice.pipeline, projectDir: choice.projectDir, target: undefined, vars: [] };
}

const run = (args: string[]) => runCli(binary!, args, { cwd: os.tmpdir(), env: process.env, timeoutMs: 60_000 });

test('mbt lsp describes files as mbt sees them (mbt/describeFile)', { skip }, async () => {
  const root = fs.realpathSync(project);
  const expect = async (file: string, kind: string, pipeline: string | null) =>
    assert.deepEqual(await describe(path.join(project, file)), { root, relative: file, kind, pipeline }, file);
  await expect('pipelines/churn_gbm_v1.yaml', 'pipeline', 'churn_gbm_v1');
  await expect('pipelines/_base_churn.yaml', 'base', '_base_churn');
  await expect('includes/telecom_schema.yaml', 'include', null);
  await expect('profiles.yaml', 'profiles', null);
  await expect('tests/churn_training_v1.test.yaml', 'test', null);
  // Directories mbt skips hold no pipelines, even under pipelines/.
  await expect('target/churn_gbm_v1/manifest.yaml', 'other', null);
  await expect('pipelines/node_modules/a.yaml', 'other', null);
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mbt-vscode-outside-'));
  try {
    assert.equal(await describe(path.join(outside, 'a.yaml')), null);
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('the configured binary resolves like the extension resolves it', { skip }, () => {
  const resolution = resolveExecutable(binary!, {
    platform: process.platform,
    pathVariable: process.env.PATH,
    pathExtVariable: process.env.PATHEXT,
    baseDirectory: process.cwd(),
    isExecutable: (file) => fs.existsSync(file),
  });
  assert.equal(resolution.found, true);
});

test('compile current pipeline writes the manifest', { skip }, async () => {
  const result = await run(cliArgs(await requestFor('compile', 'pipelines/churn_gbm_v1.yaml')));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.ok(fs.existsSync(path.join(project, 'target', 'churn_gbm_v1', 'manifest.json')));
  const outcome = summarize('compile churn_gbm_v1', result);
  assert.ok(outcome.ok);
  assert.match(outcome.summary, /compiled churn_gbm_v1/);
});

test('show resolved prints merged YAML with origins', { skip }, async () => {
  const result = await run(cliArgs(await requestFor('showResolved', 'pipelines/churn_gbm_v1.yaml')));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /# pipelines\/_base_churn\.yaml:\d+/);
});

test('show DAG prints a Mermaid flowchart that the page embeds', { skip }, async () => {
  const result = await run(cliArgs(await requestFor('dag', 'pipelines/churn_gbm_v1.yaml')));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /^(graph|flowchart) /);
  const html = dagHtml({ title: 'DAG', source: result.stdout, mermaidScriptUri: 'media/mermaid.min.js', cspSource: 'self', nonce: 'n0nce' });
  assert.match(html, /train_model --&gt; evaluate/);
});

test('a compile error is a failure with the diagnostic in the summary', { skip }, async () => {
  const file = path.join(project, 'pipelines', 'broken_v1.yaml');
  fs.writeFileSync(file, 'schema_version: 1\nbase_pipeline: _base_churn\nproject:\n  name: broken_v1\ntraning: {}\n');
  try {
    const result = await run(cliArgs(await requestFor('compile', 'pipelines/broken_v1.yaml')));
    assert.equal(result.exitCode, 1);
    const outcome = summarize('compile broken_v1', result);
    assert.equal(outcome.ok, false);
    assert.match(outcome.summary, /failed \(errors reported\): .*MBT\d{4}/);
  } finally {
    fs.rmSync(file);
  }
});

test('a pipeline named like a flag is not taken as a flag', { skip }, async () => {
  const result = await run(cliArgs({ kind: 'dag', pipeline: '--help', projectDir: project, target: undefined, vars: [] }));
  assert.equal(result.exitCode, 1);
  assert.match(result.stderr, /MBT1008/);
});

test('`mbt lsp` answers initialize over stdio (when the binary has it)', { skip }, async (context) => {
  const help = await run(['--help']);
  if (!/^\s+lsp\b/m.test(help.stdout)) {
    context.skip('this mbt has no lsp subcommand yet');
    return;
  }
  const server = spawn(binary!, ['lsp'], { cwd: project, stdio: ['pipe', 'pipe', 'pipe'] });
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: process.pid, rootUri: `file://${project}`, capabilities: {}, workspaceFolders: [{ uri: `file://${project}`, name: 'p' }] } });
  server.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const response = await new Promise<string>((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => reject(new Error(`no initialize response in 20 s; got ${received}`)), 20_000);
    server.stdout.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const header = /Content-Length: (\d+)\r\n\r\n/.exec(received);
      if (header !== null && Buffer.byteLength(received.slice(header.index + header[0].length)) >= Number(header[1])) {
        clearTimeout(timer);
        resolve(received.slice(header.index + header[0].length));
      }
    });
    server.on('error', reject);
  });
  server.kill();
  const message = JSON.parse(response);
  assert.equal(message.id, 1);
  assert.ok(message.result?.capabilities, response);
});
