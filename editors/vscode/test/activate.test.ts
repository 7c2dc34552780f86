// The VS Code glue (src/extension.ts, bundled by esbuild as in the .vsix) against a stand-in
// `vscode` module and a stand-in language client: what a user sees when mbt is missing, how the
// commands take the file's pipeline and project from the server's `mbt/describeFile` answer, and
// the commands end to end with the real mbt (MBT_BIN) on a copy of the example project, the
// stand-in client passing the request to a real `mbt lsp`.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

import { LspProcess } from './lspProcess';

interface Recorded {
  messages: { level: string; text: string; items: string[] }[];
  executed: unknown[][];
  commands: Map<string, (...args: unknown[]) => unknown>;
  panels: { title: string; html: string }[];
  documents: { uri: string; text: string; language?: string }[];
}

const recorded: Recorded = { messages: [], executed: [], commands: new Map(), panels: [], documents: [] };
const configuration: Record<string, unknown> = {};
let answer: string | undefined;
let activeFile: string | undefined;
const providers = new Map<string, { provideTextDocumentContent(uri: unknown): Promise<string> }>();

class Uri {
  constructor(readonly scheme: string, readonly fsPath: string, readonly path: string, readonly query: string) {}
  static file(file: string) { return new Uri('file', file, file, ''); }
  static from(parts: { scheme: string; path: string; query: string }) { return new Uri(parts.scheme, parts.path, parts.path, parts.query); }
  static parse(text: string) { const url = new URL(text); return new Uri(url.protocol.slice(0, -1), url.pathname, url.pathname, url.search.slice(1)); }
  static joinPath(base: Uri, ...segments: string[]) { const joined = path.join(base.fsPath, ...segments); return new Uri(base.scheme, joined, joined, ''); }
  toString() {
    if (this.scheme === 'file') {
      return pathToFileURL(this.fsPath).href;
    }
    return `${this.scheme}:${this.path}${this.query ? `?${this.query}` : ''}`;
  }
}

// The language client: records what the extension sends and answers through `answerRequest`.
type Answer = (method: string, params: unknown) => Promise<unknown>;
const sent: { method: string; params: unknown }[] = [];
let answerRequest: Answer = () => Promise.reject(new Error('no answer set'));
let advertised: string[] | undefined;
const clients: FakeLanguageClient[] = [];

class FakeLanguageClient {
  running = false;
  readonly initializeResult = { capabilities: { executeCommandProvider: advertised === undefined ? undefined : { commands: advertised } } };
  constructor(readonly id: string, readonly name: string, readonly serverOptions: { command: string; args: string[] }) {
    clients.push(this);
  }
  start() { this.running = true; return Promise.resolve(); }
  stop() { this.running = false; return Promise.resolve(); }
  isRunning() { return this.running; }
  sendRequest(type: string | { method: string }, params: unknown) {
    const method = typeof type === 'string' ? type : type.method;
    sent.push({ method, params });
    return answerRequest(method, params);
  }
}

const languageClientModule = {
  LanguageClient: FakeLanguageClient,
  TransportKind: { stdio: 0 },
  ExecuteCommandRequest: { type: { method: 'workspace/executeCommand' } },
};

const message = (level: string) => (text: string, ...items: string[]) => {
  recorded.messages.push({ level, text, items });
  return Promise.resolve(answer);
};

const vscodeStub = {
  Uri,
  EventEmitter: class { event = () => ({ dispose() {} }); fire() {} },
  ViewColumn: { Beside: -2 },
  ProgressLocation: { Window: 10 },
  window: {
    createOutputChannel: () => ({ appendLine() {}, append() {}, show() {}, dispose() {} }),
    showErrorMessage: message('error'),
    showWarningMessage: message('warning'),
    showInformationMessage: message('info'),
    withProgress: (_options: unknown, task: () => Promise<unknown>) => task(),
    get activeTextEditor() {
      return activeFile === undefined ? undefined : { document: { uri: Uri.file(activeFile), isDirty: false, languageId: 'mbt-yaml' } };
    },
    createWebviewPanel: (_type: string, title: string) => {
      const panel = { title, html: '' };
      recorded.panels.push(panel);
      return {
        webview: { cspSource: 'vscode-webview:', asWebviewUri: (uri: Uri) => uri, set html(value: string) { panel.html = value; } },
        onDidDispose() {},
        reveal() {},
      };
    },
    showTextDocument: () => Promise.resolve(),
  },
  workspace: {
    workspaceFolders: undefined,
    getConfiguration: () => ({ get: (key: string) => configuration[key] }),
    registerTextDocumentContentProvider: (scheme: string, provider: { provideTextDocumentContent(uri: unknown): Promise<string> }) => {
      providers.set(scheme, provider);
      return { dispose() {} };
    },
    onDidChangeConfiguration: () => ({ dispose() {} }),
    createFileSystemWatcher: () => ({ dispose() {} }),
    onDidSaveTextDocument: () => ({ dispose() {} }),
    asRelativePath: (uri: Uri) => uri.fsPath,
    openTextDocument: async (uri: Uri) => {
      const text = await providers.get(uri.scheme)!.provideTextDocumentContent(uri);
      const document = { uri: uri.toString(), text, language: undefined as string | undefined };
      recorded.documents.push(document);
      return document;
    },
  },
  languages: {
    setTextDocumentLanguage: (document: { language?: string }, language: string) => {
      document.language = language;
      return Promise.resolve(document);
    },
  },
  commands: {
    registerCommand: (id: string, handler: (...args: unknown[]) => unknown) => {
      recorded.commands.set(id, handler);
      return { dispose() {} };
    },
    executeCommand: (...args: unknown[]) => {
      recorded.executed.push(args);
      return Promise.resolve();
    },
  },
};

// Anything the stub does not define (vscode-languageclient extends and reads vscode classes and
// enums when it loads) is a placeholder class whose properties are placeholders too.
function placeholder(): unknown {
  const target = class {};
  return new Proxy(target, {
    get: (object, property) => (property in object || typeof property === 'symbol' || property === 'then' ? Reflect.get(object, property) : placeholder()),
  });
}
const vscodeModule = new Proxy(vscodeStub as Record<string | symbol, unknown>, {
  get: (object, property) => (property in object ? object[property] : placeholder()),
});

const extensionDir = path.resolve(__dirname, '..');
let extension: { activate(context: unknown): Promise<void>; deactivate(): Promise<void> };
let project: string | undefined;
let realServer: LspProcess | undefined;
const binary = process.env.MBT_BIN;

before(() => {
  const bundle = buildSync({
    entryPoints: [path.join(extensionDir, 'src', 'extension.ts')],
    bundle: true, platform: 'node', format: 'cjs', external: ['vscode', 'vscode-languageclient/node'], write: false, logLevel: 'silent',
  }).outputFiles[0].text;
  const load = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
  const stubs: Record<string, unknown> = { vscode: vscodeModule, 'vscode-languageclient/node': languageClientModule };
  (Module as unknown as { _load: unknown })._load = (request: string, ...rest: unknown[]) => stubs[request] ?? load(request, ...rest);
  const module = new Module(path.join(extensionDir, 'dist', 'extension.test.js'));
  module.paths = (Module as unknown as { _nodeModulePaths(directory: string): string[] })._nodeModulePaths(extensionDir);
  (module as unknown as { _compile(code: string, file: string): void })._compile(bundle, module.id);
  extension = module.exports as typeof extension;
});

after(async () => {
  await extension?.deactivate();
  await realServer?.stop();
  if (project !== undefined) {
    fs.rmSync(path.dirname(project), { recursive: true, force: true });
  }
});

test('a missing mbt: an actionable error with a button that opens the setting', async () => {
  configuration['server.path'] = path.join(os.tmpdir(), 'no-such-dir', 'mbt');
  answer = 'Open Settings';
  await extension.activate({ subscriptions: [], extensionUri: Uri.file(extensionDir) });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual([...recorded.commands.keys()].sort(), ['mbt.compile', 'mbt.restartServer', 'mbt.showDag', 'mbt.showResolved']);
  const error = recorded.messages.find((entry) => entry.level === 'error');
  assert.ok(error, JSON.stringify(recorded.messages));
  assert.match(error.text, /cannot start the language server: .*no-such-dir\/mbt" \(from the mbt\.server\.path setting\) does not exist/);
  assert.deepEqual(error.items, ['Open Settings', 'Show Output']);
  assert.deepEqual(recorded.executed, [['workbench.action.openSettings', 'mbt.server.path']]);
  answer = undefined;
});

test('without a running server the commands show the missing-binary error', async () => {
  recorded.messages.length = 0;
  activeFile = path.join('/p', 'pipelines', 'churn.yaml');
  await recorded.commands.get('mbt.compile')!();
  assert.equal(clients.length, 0);
  assert.equal(sent.length, 0);
  assert.equal(recorded.messages.length, 1, JSON.stringify(recorded.messages));
  assert.equal(recorded.messages[0].level, 'error');
  assert.match(recorded.messages[0].text, /cannot start the language server: .*no-such-dir\/mbt" \(from the mbt\.server\.path setting\) does not exist/);
  assert.deepEqual(recorded.messages[0].items, ['Open Settings', 'Show Output']);
});

/** Restarts the extension's server (a stand-in client) with `server.path` set to an existing file. */
async function restartWith(serverPath: string, commands?: string[]): Promise<FakeLanguageClient> {
  configuration['server.path'] = serverPath;
  advertised = commands;
  await recorded.commands.get('mbt.restartServer')!();
  const started = clients.at(-1)!;
  assert.ok(started.isRunning());
  assert.deepEqual(started.serverOptions.args, ['lsp']);
  return started;
}

test('the commands ask the server which pipeline and project the file is', async () => {
  // Through the server's mbt/compile, so no binary runs: what matters is what it is given.
  await restartWith(process.execPath, ['mbt/compile']);
  const file = path.join(os.tmpdir(), 'some project', 'pipelines', 'team', 'churn.yml');
  activeFile = file;
  sent.length = 0;
  recorded.messages.length = 0;
  answerRequest = (method) =>
    Promise.resolve(
      method === 'mbt/describeFile'
        ? { root: '/elsewhere/root', relative: 'pipelines/team/churn.yml', kind: 'pipeline', pipeline: 'churn' }
        : 'compiled churn (target dev) -> target/churn/manifest.json',
    );
  await recorded.commands.get('mbt.compile')!();
  assert.deepEqual(sent, [
    { method: 'mbt/describeFile', params: { textDocument: { uri: pathToFileURL(file).href } } },
    { method: 'workspace/executeCommand', params: { command: 'mbt/compile', arguments: [{ pipeline: 'churn', projectDir: '/elsewhere/root' }] } },
  ]);
  assert.deepEqual(recorded.messages.map((entry) => [entry.level, entry.text]), [['info', 'MBT: compiled churn (target dev) -> target/churn/manifest.json']]);
});

test('files that are no pipeline, or in no project, say what to open', async () => {
  const describeAs = (answer: unknown) => {
    answerRequest = (method) => (method === 'mbt/describeFile' ? Promise.resolve(answer) : Promise.reject(new Error(`unexpected ${method}`)));
  };
  recorded.messages.length = 0;
  sent.length = 0;
  activeFile = '/p/profiles.yaml';
  describeAs({ root: '/p', relative: 'profiles.yaml', kind: 'profiles', pipeline: null });
  await recorded.commands.get('mbt.compile')!();
  activeFile = '/p/target/x/a.yaml';
  describeAs({ root: '/p', relative: 'target/x/a.yaml', kind: 'other', pipeline: null });
  await recorded.commands.get('mbt.showResolved')!();
  activeFile = path.join(os.tmpdir(), 'x.yaml');
  describeAs(null);
  await recorded.commands.get('mbt.showDag')!();
  assert.deepEqual(recorded.messages.map((entry) => [entry.level, entry.text]), [
    ['warning', 'MBT: profiles.yaml is not a pipeline: open a file under pipelines/.'],
    ['warning', 'MBT: target/x/a.yaml is not a pipeline: open a file under pipelines/.'],
    ['warning', `MBT: ${activeFile} is not in an MBT project (no profiles.yaml, or pyproject.toml beside pipelines/, in its folder or above).`],
  ]);
  assert.deepEqual(sent.map((entry) => entry.method), ['mbt/describeFile', 'mbt/describeFile', 'mbt/describeFile']);
  assert.equal(recorded.panels.length, 0);
  assert.equal(recorded.documents.length, 0);
});

test('a server that cannot answer is an error, never a guess', async () => {
  activeFile = '/p/pipelines/churn.yaml';
  recorded.messages.length = 0;
  answerRequest = () => Promise.reject(new Error('unknown method `mbt/describeFile`'));
  await recorded.commands.get('mbt.compile')!();
  answerRequest = () => Promise.resolve({ root: '/p', pipeline: 'churn' });
  await recorded.commands.get('mbt.compile')!();
  assert.deepEqual(recorded.messages.map((entry) => entry.level), ['error', 'error']);
  assert.match(recorded.messages[0].text, /^MBT: the language server could not describe .*churn\.yaml: unknown method `mbt\/describeFile`$/);
  assert.match(recorded.messages[1].text, /^MBT: unexpected answer from the language server to mbt\/describeFile/);
});

test('a server that stopped: the commands say so and offer a restart', async () => {
  clients.at(-1)!.running = false;
  recorded.messages.length = 0;
  sent.length = 0;
  await recorded.commands.get('mbt.compile')!();
  assert.equal(sent.length, 0);
  assert.equal(recorded.messages[0]?.level, 'error', JSON.stringify(recorded.messages));
  assert.match(recorded.messages[0].text, /the language server \(.* lsp\) is not running/);
  assert.deepEqual(recorded.messages[0].items, ['Restart Language Server', 'Show Output']);
});

const skip = binary === undefined || binary === '' ? 'MBT_BIN is not set (scripts/test.sh sets it to the built mbt)' : false;

test('compile, show resolved and show DAG run the real mbt', { skip }, async () => {
  project = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mbt-vscode-glue-')), 'telecom-churn');
  fs.cpSync(path.resolve(extensionDir, '..', '..', 'examples', 'telecom-churn'), project, {
    recursive: true,
    filter: (source) => !/[\\/](target|local_artifacts|local_registry)$/.test(source),
  });
  // The stand-in client passes the extension's requests to a real `mbt lsp` on the project.
  realServer = await LspProcess.start(binary!, project);
  answerRequest = (method, params) => realServer!.request(method, params);
  await restartWith(binary!);
  recorded.messages.length = 0;
  sent.length = 0;
  activeFile = path.join(project, 'pipelines', 'churn_gbm_v1.yaml');

  await recorded.commands.get('mbt.compile')!();
  assert.equal(recorded.messages[0]?.level, 'info', JSON.stringify(recorded.messages));
  assert.match(recorded.messages[0].text, /^MBT: compiled churn_gbm_v1 \(target dev\) -> target\/churn_gbm_v1\/manifest\.json$/);
  assert.ok(fs.existsSync(path.join(project, 'target', 'churn_gbm_v1', 'manifest.json')));

  await recorded.commands.get('mbt.showResolved')!();
  const document = recorded.documents.at(-1)!;
  assert.match(document.uri, /^mbt-resolved:\/churn_gbm_v1\.resolved\.yaml\?/);
  assert.equal(document.language, 'yaml');
  assert.match(document.text, /framework: gbm {2}# pipelines\/churn_gbm_v1\.yaml:\d+/);

  await recorded.commands.get('mbt.showDag')!();
  const panel = recorded.panels.at(-1)!;
  assert.equal(panel.title, 'DAG: churn_gbm_v1');
  assert.match(panel.html, /<pre class="mermaid">graph TD/);
  assert.match(panel.html, /media[\\/]mermaid\.min\.js"/);

  activeFile = path.join(project, 'pipelines', '_base_churn.yaml');
  recorded.messages.length = 0;
  await recorded.commands.get('mbt.compile')!();
  assert.equal(recorded.messages[0]?.level, 'error', JSON.stringify(recorded.messages));
  assert.match(recorded.messages[0].text, /^MBT: compile _base_churn failed \(errors reported\): .*MBT1011/);
  // Every command asked the server first; nothing went through workspace/executeCommand.
  assert.deepEqual(new Set(sent.map((entry) => entry.method)), new Set(['mbt/describeFile']));
});
