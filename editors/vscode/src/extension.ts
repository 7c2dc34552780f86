// VS Code glue: starts `mbt lsp` over stdio and registers the commands. Logic lives in the pure
// modules (settings, binary, project, cli, process, dagHtml, virtualDocument), which are unit-tested;
// this file only wires them to the VS Code API.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';

import { resolveExecutable, Resolution } from './binary';
import { CommandKind, CommandRequest, displayCommandLine, planCommand, serverResultText } from './cli';
import { makeNonce, dagHtml } from './dagHtml';
import { CliResult, runCli, summarize } from './process';
import { choosePipeline, DESCRIBE_FILE_METHOD, describeFileParams } from './project';
import { readSettings, RESTART_KEYS, Settings } from './settings';
import { failureDocument, parseResolvedQuery, RESOLVED_SCHEME, resolvedUriParts } from './virtualDocument';

const LANGUAGE_ID = 'mbt-yaml';
const CLI_TIMEOUT_MS = 120_000;

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let extensionUri: vscode.Uri;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('MBT');
  extensionUri = context.extensionUri;
  const resolvedProvider = new ResolvedPipelineProvider();
  const dagPanels = new Map<string, vscode.WebviewPanel>();

  context.subscriptions.push(
    output,
    vscode.workspace.registerTextDocumentContentProvider(RESOLVED_SCHEME, resolvedProvider),
    vscode.commands.registerCommand('mbt.compile', () => compileCurrent()),
    vscode.commands.registerCommand('mbt.showResolved', () => showResolved()),
    vscode.commands.registerCommand('mbt.showDag', () => showDag(dagPanels)),
    vscode.commands.registerCommand('mbt.restartServer', () => restartServer()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (RESTART_KEYS.some((key) => event.affectsConfiguration(key))) {
        void restartServer();
      }
    }),
    vscode.workspace.onDidSaveTextDocument((document) => {
      if (document.languageId === LANGUAGE_ID) {
        resolvedProvider.refreshAll();
        for (const [key, panel] of dagPanels) {
          void renderDag(panel, JSON.parse(key) as DagKey);
        }
      }
    }),
  );
  await startServer();
}

export async function deactivate(): Promise<void> {
  await stopServer();
}

function settings(): Settings {
  const configuration = vscode.workspace.getConfiguration('mbt');
  return readSettings((key) => configuration.get(key), os.homedir());
}

function resolveBinary(current: Settings): Resolution {
  return resolveExecutable(current.serverPath, {
    platform: process.platform,
    pathVariable: process.env.PATH ?? process.env.Path,
    pathExtVariable: process.env.PATHEXT,
    baseDirectory: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    isExecutable: (file) => {
      try {
        if (!fs.statSync(file).isFile()) {
          return false;
        }
        if (process.platform !== 'win32') {
          fs.accessSync(file, fs.constants.X_OK);
        }
        return true;
      } catch {
        return false;
      }
    },
  });
}

async function reportMissing(resolution: Resolution & { found: false }): Promise<void> {
  output.appendLine(resolution.message);
  if (resolution.searched.length > 0) {
    output.appendLine(`searched: ${resolution.searched.join(', ')}`);
  }
  const choice = await vscode.window.showErrorMessage(resolution.message, 'Open Settings', 'Show Output');
  if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'mbt.server.path');
  } else if (choice === 'Show Output') {
    output.show();
  }
}

async function startServer(): Promise<void> {
  const current = settings();
  const resolution = resolveBinary(current);
  if (!resolution.found) {
    void reportMissing(resolution);
    return;
  }
  const serverOptions: ServerOptions = {
    command: resolution.path,
    args: ['lsp', ...current.serverExtraArgs],
    transport: TransportKind.stdio,
    options: { env: { ...process.env, ...current.serverEnv } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: LANGUAGE_ID }],
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.yaml,*.yml,*.py,pyproject.toml}'),
    },
  };
  // The id `mbt` makes the client read `mbt.trace.server`.
  client = new LanguageClient('mbt', 'MBT Language Server', serverOptions, clientOptions);
  output.appendLine(`starting ${displayCommandLine(resolution.path, ['lsp', ...current.serverExtraArgs])}`);
  try {
    await client.start();
  } catch (error) {
    const message = `MBT: the language server (${resolution.path} lsp) failed to start: ${String(error)}`;
    output.appendLine(message);
    const choice = await vscode.window.showErrorMessage(message, 'Show Output', 'Open Settings');
    if (choice === 'Show Output') {
      output.show();
    } else if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'mbt.server');
    }
  }
}

async function stopServer(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    try {
      await running.stop();
    } catch (error) {
      output.appendLine(`stopping the language server: ${String(error)}`);
    }
  }
}

async function restartServer(): Promise<void> {
  await stopServer();
  await startServer();
}

/** The server's advertised `workspace/executeCommand` ids, when it is running. */
function advertisedCommands(): readonly string[] | undefined {
  if (client === undefined || !client.isRunning()) {
    return undefined;
  }
  return client.initializeResult?.capabilities.executeCommandProvider?.commands;
}

/**
 * The running language client, or undefined after telling the user why not: the commands ask it
 * which project and pipeline a file belongs to (`mbt/describeFile`).
 */
function runningClient(): LanguageClient | undefined {
  if (client !== undefined && client.isRunning()) {
    return client;
  }
  const resolution = resolveBinary(settings());
  if (!resolution.found) {
    void reportMissing(resolution);
    return undefined;
  }
  const message = `MBT: the language server (${resolution.path} lsp) is not running; the commands need it to find the file's project and pipeline.`;
  output.appendLine(message);
  void vscode.window.showErrorMessage(message, 'Restart Language Server', 'Show Output').then((choice) => {
    if (choice === 'Restart Language Server') {
      void restartServer();
    } else if (choice === 'Show Output') {
      output.show();
    }
  });
  return undefined;
}

/** The request for the active editor's pipeline, or undefined after telling the user why not. */
async function currentRequest(kind: CommandKind): Promise<CommandRequest | undefined> {
  const document = vscode.window.activeTextEditor?.document;
  if (document === undefined || document.uri.scheme !== 'file') {
    void vscode.window.showWarningMessage('MBT: open a pipeline file (pipelines/*.yaml) first.');
    return undefined;
  }
  const running = runningClient();
  if (running === undefined) {
    return undefined;
  }
  let answer: unknown;
  try {
    answer = await running.sendRequest(DESCRIBE_FILE_METHOD, describeFileParams(document.uri.toString()));
  } catch (error) {
    const message = `MBT: the language server could not describe ${vscode.workspace.asRelativePath(document.uri)}: ${error instanceof Error ? error.message : String(error)}`;
    output.appendLine(message);
    void vscode.window.showErrorMessage(message);
    return undefined;
  }
  const choice = choosePipeline(answer, vscode.workspace.asRelativePath(document.uri));
  if (!choice.ok) {
    void (choice.level === 'error' ? vscode.window.showErrorMessage(choice.message) : vscode.window.showWarningMessage(choice.message));
    return undefined;
  }
  if (document.isDirty) {
    await document.save();
  }
  const current = settings();
  return { kind, pipeline: choice.pipeline, projectDir: choice.projectDir, target: current.target, vars: current.vars };
}

/** Runs a command through the server or the CLI; the result as the CLI reports it. */
async function execute(request: CommandRequest): Promise<{ commandLine: string; result: CliResult }> {
  const plan = planCommand(request, advertisedCommands());
  if (plan.via === 'server' && client !== undefined) {
    const commandLine = `${plan.command} (language server)`;
    try {
      const response = await client.sendRequest(ExecuteCommandRequest.type, { command: plan.command, arguments: plan.arguments });
      const text = serverResultText(response);
      return { commandLine, result: { exitCode: 0, stdout: text ?? JSON.stringify(response, null, 2), stderr: '', spawnError: undefined } };
    } catch (error) {
      return { commandLine, result: { exitCode: 1, stdout: '', stderr: String(error instanceof Error ? error.message : error), spawnError: undefined } };
    }
  }
  const current = settings();
  const args = plan.via === 'cli' ? plan.args : [];
  const resolution = resolveBinary(current);
  if (!resolution.found) {
    void reportMissing(resolution);
    return { commandLine: displayCommandLine(current.serverPath, args), result: { exitCode: undefined, stdout: '', stderr: '', spawnError: 'mbt not found' } };
  }
  const result = await runCli(resolution.path, args, {
    cwd: request.projectDir,
    env: { ...process.env, ...current.serverEnv },
    timeoutMs: CLI_TIMEOUT_MS,
  });
  return { commandLine: displayCommandLine(resolution.path, args), result };
}

function log(commandLine: string, result: CliResult): void {
  output.appendLine(`$ ${commandLine}`);
  if (result.stdout !== '') {
    output.append(result.stdout.endsWith('\n') ? result.stdout : `${result.stdout}\n`);
  }
  if (result.stderr !== '') {
    output.append(result.stderr.endsWith('\n') ? result.stderr : `${result.stderr}\n`);
  }
  if (result.spawnError !== undefined) {
    output.appendLine(result.spawnError);
  }
}

async function notify(what: string, result: CliResult): Promise<void> {
  const outcome = summarize(what, result);
  const show = outcome.ok
    ? vscode.window.showInformationMessage(outcome.summary, 'Show Output')
    : vscode.window.showErrorMessage(outcome.summary, 'Show Output');
  if ((await show) === 'Show Output') {
    output.show();
  }
}

async function compileCurrent(): Promise<void> {
  const request = await currentRequest('compile');
  if (request === undefined) {
    return;
  }
  const { commandLine, result } = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: `MBT: compiling ${request.pipeline}` },
    () => execute(request),
  );
  log(commandLine, result);
  await notify(`compile ${request.pipeline}`, result);
}

class ResolvedPipelineProvider implements vscode.TextDocumentContentProvider {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  private readonly open = new Set<string>();
  readonly onDidChange = this.changes.event;

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const target = parseResolvedQuery(uri.query);
    if (target === undefined) {
      return '# not an MBT resolved-pipeline URI\n';
    }
    this.open.add(uri.toString());
    const current = settings();
    const request: CommandRequest = { kind: 'showResolved', ...target, target: current.target, vars: current.vars };
    const { commandLine, result } = await execute(request);
    log(commandLine, result);
    if (result.exitCode === 0) {
      return result.stdout;
    }
    const outcome = summarize(`resolve ${target.pipeline}`, result);
    void notify(`resolve ${target.pipeline}`, result);
    return failureDocument(commandLine, outcome.summary, result.stderr);
  }

  refreshAll(): void {
    for (const uri of this.open) {
      this.changes.fire(vscode.Uri.parse(uri));
    }
  }
}

async function showResolved(): Promise<void> {
  const request = await currentRequest('showResolved');
  if (request === undefined) {
    return;
  }
  const uri = vscode.Uri.from(resolvedUriParts({ pipeline: request.pipeline, projectDir: request.projectDir }));
  let document = await vscode.workspace.openTextDocument(uri);
  document = await vscode.languages.setTextDocumentLanguage(document, 'yaml');
  await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: false });
}

interface DagKey {
  pipeline: string;
  projectDir: string;
}

async function showDag(panels: Map<string, vscode.WebviewPanel>): Promise<void> {
  const request = await currentRequest('dag');
  if (request === undefined) {
    return;
  }
  const keyValue: DagKey = { pipeline: request.pipeline, projectDir: request.projectDir };
  const key = JSON.stringify(keyValue);
  let panel = panels.get(key);
  if (panel === undefined) {
    const media = vscode.Uri.joinPath(extensionUri, 'media');
    panel = vscode.window.createWebviewPanel('mbt.dag', `DAG: ${request.pipeline}`, vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: [media],
    });
    panels.set(key, panel);
    panel.onDidDispose(() => panels.delete(key));
  } else {
    panel.reveal(vscode.ViewColumn.Beside);
  }
  await renderDag(panel, keyValue);
}

async function renderDag(panel: vscode.WebviewPanel, key: DagKey): Promise<void> {
  const current = settings();
  const { commandLine, result } = await execute({ kind: 'dag', ...key, target: current.target, vars: current.vars });
  log(commandLine, result);
  if (result.exitCode !== 0) {
    await notify(`DAG of ${key.pipeline}`, result);
    return;
  }
  const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'mermaid.min.js'));
  panel.webview.html = dagHtml({
    title: `DAG: ${key.pipeline}`,
    source: result.stdout,
    mermaidScriptUri: script.toString(),
    cspSource: panel.webview.cspSource,
    nonce: makeNonce(),
  });
}
