// A minimal LSP client over stdio for the tests that need the real `mbt lsp` (MBT_BIN): start,
// initialize on a project, send requests, shut down. Not a test file itself.
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export class LspProcess {
  private buffer = Buffer.alloc(0);
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private stderr = '';

  private constructor(private readonly server: ChildProcessWithoutNullStreams) {
    server.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
    server.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    server.on('exit', (code) => this.failAll(new Error(`mbt lsp exited (${code}): ${this.stderr}`)));
    server.on('error', (error) => this.failAll(error));
  }

  /** Starts `binary lsp` and initializes it with `root` as the workspace folder. */
  static async start(binary: string, root: string): Promise<LspProcess> {
    const lsp = new LspProcess(spawn(binary, ['lsp'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] }));
    const uri = pathToFileURL(root).href;
    await lsp.request('initialize', { processId: process.pid, rootUri: uri, capabilities: {}, workspaceFolders: [{ uri, name: 'project' }] });
    lsp.notify('initialized', {});
    return lsp;
  }

  /** The result of a request; rejects with the error response's message. */
  request(method: string, params: unknown, timeoutMs = 20_000): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${method} in ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.send({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  async stop(): Promise<void> {
    try {
      await this.request('shutdown', null, 5_000);
      this.notify('exit', null);
    } catch {
      // Killed below.
    }
    this.server.kill();
  }

  private send(message: unknown): void {
    const body = JSON.stringify(message);
    this.server.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) {
        return;
      }
      const length = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'));
      if (length === null) {
        throw new Error(`bad header: ${this.buffer.subarray(0, headerEnd).toString('ascii')}`);
      }
      const start = headerEnd + 4;
      const end = start + Number(length[1]);
      if (this.buffer.length < end) {
        return;
      }
      const message = JSON.parse(this.buffer.subarray(start, end).toString('utf8')) as {
        id?: number | string;
        method?: string;
        result?: unknown;
        error?: { message: string };
      };
      this.buffer = this.buffer.subarray(end);
      // Notifications and the server's own requests are not needed by the tests.
      if (message.method !== undefined || typeof message.id !== 'number') {
        continue;
      }
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) {
        pending?.reject(new Error(message.error.message));
      } else {
        pending?.resolve(message.result ?? null);
      }
    }
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) {
      pending.reject(error);
    }
    this.pending.clear();
  }
}
