// The command lines the extension builds, run by the real `mbt` on a copy of the example project.
// Needs MBT_BIN (scripts/test.sh sets it to the binary cargo just built); without it these tests
// are skipped with a reason.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { resolveExecutable } from '../src/binary';
import { cliArgs, CommandRequest } from '../src/cli';
import { dagHtml } from '../src/dagHtml';
import { runCli, summarize } from '../src/process';
import { describeFile } from '../src/project';

const binary = process.env.MBT_BIN;
const skip = binary === undefined || binary === '' ? 'MBT_BIN is not set (scripts/test.sh sets it to the built mbt)' : false;
let project: string;

before(() => {
  if (skip) {
    console.log(`# skipping real-CLI tests: ${skip}`);
    return;
  }
  assert.ok(fs.existsSync(binary!), `MBT_BIN=${binary} does not exist`);
  project = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mbt-vscode-cli-')), 'telecom-churn');
  const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'telecom-churn');
  fs.cpSync(example, project, { recursive: true, filter: (source) => !/[\\/](target|local_artifacts|local_registry)$/.test(source) });
});

after(() => {
  if (project !== undefined) {
    fs.rmSync(path.dirname(project), { recursive: true, force: true });
  }
});

function requestFor(kind: CommandRequest['kind'], file: string): CommandRequest {
  const isFile = (candidate: string) => fs.existsSync(candidate) && fs.statSync(candidate).isFile();
  const described = describeFile(path.join(project, file), isFile);
  assert.ok(described?.pipeline !== undefined);
  return { kind, pipeline: described.pipeline, projectDir: described.root, target: undefined, vars: [] };
}

const run = (args: string[]) => runCli(binary!, args, { cwd: os.tmpdir(), env: process.env, timeoutMs: 60_000 });

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
  const result = await run(cliArgs(requestFor('compile', 'pipelines/churn_gbm_v1.yaml')));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.ok(fs.existsSync(path.join(project, 'target', 'churn_gbm_v1', 'manifest.json')));
  const outcome = summarize('compile churn_gbm_v1', result);
  assert.ok(outcome.ok);
  assert.match(outcome.summary, /compiled churn_gbm_v1/);
});

test('show resolved prints merged YAML with origins', { skip }, async () => {
  const result = await run(cliArgs(requestFor('showResolved', 'pipelines/churn_gbm_v1.yaml')));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /# pipelines\/_base_churn\.yaml:\d+/);
});

test('show DAG prints a Mermaid flowchart that the page embeds', { skip }, async () => {
  const result = await run(cliArgs(requestFor('dag', 'pipelines/churn_gbm_v1.yaml')));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /^(graph|flowchart) /);
  const html = dagHtml({ title: 'DAG', source: result.stdout, mermaidScriptUri: 'media/mermaid.min.js', cspSource: 'self', nonce: 'n0nce' });
  assert.match(html, /train_model --&gt; evaluate/);
});

test('a compile error is a failure with the diagnostic in the summary', { skip }, async () => {
  const file = path.join(project, 'pipelines', 'broken_v1.yaml');
  fs.writeFileSync(file, 'schema_version: 1\nbase_pipeline: _base_churn\nproject:\n  name: broken_v1\ntraning: {}\n');
  try {
    const result = await run(cliArgs(requestFor('compile', 'pipelines/broken_v1.yaml')));
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
