// Command lines for the MBT commands and the choice between the language server and the CLI.
// Pure: no `vscode`, no process spawning (see process.ts).

export type CommandKind = 'compile' | 'showResolved' | 'dag';

export interface CommandRequest {
  kind: CommandKind;
  pipeline: string;
  projectDir: string;
  target: string | undefined;
  vars: string[];
}

/**
 * `workspace/executeCommand` ids the extension uses when the server advertises them in
 * `executeCommandProvider.commands`. Their argument is one `ServerCommandArguments` object, and the
 * result is the text the CLI would print (a string, or an object with a `text` field).
 * They differ from the extension's own command ids because vscode-languageclient registers each
 * advertised server command as a VS Code command of the same id.
 */
export const SERVER_COMMANDS: Record<CommandKind, string> = {
  compile: 'mbt/compile',
  showResolved: 'mbt/showResolved',
  dag: 'mbt/dag',
};

export interface ServerCommandArguments {
  pipeline: string;
  projectDir: string;
  target?: string;
  vars?: string[];
}

export type Plan =
  | { via: 'server'; command: string; arguments: [ServerCommandArguments] }
  | { via: 'cli'; args: string[] };

/** The `mbt` arguments for a command; options first, then `--`, then the pipeline name. */
export function cliArgs(request: CommandRequest): string[] {
  const subcommand: Record<CommandKind, string[]> = {
    compile: ['compile'],
    showResolved: ['validate', '--show-resolved'],
    dag: ['dag', '--mermaid'],
  };
  const args = [...subcommand[request.kind], '--project-dir', request.projectDir];
  if (request.target !== undefined) {
    args.push('--target', request.target);
  }
  for (const pair of request.vars) {
    args.push('--vars', pair);
  }
  args.push('--color', 'never', '--', request.pipeline);
  return args;
}

/** Through the server when it advertises the command, else through the CLI. */
export function planCommand(request: CommandRequest, advertised: readonly string[] | undefined): Plan {
  const command = SERVER_COMMANDS[request.kind];
  if (advertised !== undefined && advertised.includes(command)) {
    const argument: ServerCommandArguments = { pipeline: request.pipeline, projectDir: request.projectDir };
    if (request.target !== undefined) {
      argument.target = request.target;
    }
    if (request.vars.length > 0) {
      argument.vars = [...request.vars];
    }
    return { via: 'server', command, arguments: [argument] };
  }
  return { via: 'cli', args: cliArgs(request) };
}

/** The text of a server command's result: a string, or `{ text }`; undefined for anything else. */
export function serverResultText(result: unknown): string | undefined {
  if (typeof result === 'string') {
    return result;
  }
  if (result !== null && typeof result === 'object' && typeof (result as { text?: unknown }).text === 'string') {
    return (result as { text: string }).text;
  }
  return undefined;
}

/** A shell-like rendering of a command line for the output channel (never executed by a shell). */
export function displayCommandLine(binary: string, args: readonly string[]): string {
  return [binary, ...args].map(quoteForDisplay).join(' ');
}

function quoteForDisplay(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
