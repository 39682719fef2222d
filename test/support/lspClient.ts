/**
 * An editor's side of the JSON-RPC conversation with `kvm-locklint-lsp --stdio`, for the
 * language-server end-to-end tests: records published diagnostics, status notifications and
 * progress, answers the requests a server makes of its client, and waits for conditions.
 */
import type { ChildProcess } from 'node:child_process';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';

export interface Diagnostic {
  range: { start: { line: number; character: number } };
  code?: string;
  source?: string;
  message: string;
  relatedInformation?: { location: { uri: string }; message: string }[];
}

export class Client {
  readonly conn: MessageConnection;
  readonly diagnostics = new Map<string, Diagnostic[]>();
  readonly statuses: { rulesSource: string; rulesPath: string | null; files: number; indexing: boolean }[] = [];
  readonly progress: { kind: string }[] = [];
  private waiters: (() => void)[] = [];
  /** What the editor answers to workspace/configuration for `kvmLocklint`. */
  settings: Record<string, unknown> = { codes: { 'lock-cycle': { enabled: true } } };
  stderr = '';

  constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (d) => (this.stderr += String(d)));
    this.conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    this.conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) => {
      this.diagnostics.set(p.uri, p.diagnostics);
      this.wake();
    });
    this.conn.onNotification('kvmLocklint/status', (p: Client['statuses'][number]) => {
      this.statuses.push(p);
      this.wake();
    });
    this.conn.onNotification('$/progress', (p: { value: { kind: string } }) => {
      this.progress.push(p.value);
      this.wake();
    });
    this.conn.onRequest('window/workDoneProgress/create', () => null);
    this.conn.onRequest('client/registerCapability', () => null);
    this.conn.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => this.settings));
    this.conn.onNotification('window/logMessage', (p: { type: number; message: string }) => {
      if (process.env.LSP_TEST_LOG) console.log('[server]', p.message);
    });
    this.conn.listen();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `test` holds, re-checked on every notification; fails after `ms`. */
  until<T>(what: string, test: () => T | undefined | false, ms = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; server stderr: ${this.stderr.slice(-2000)}`)), ms);
      const check = () => {
        const v = test();
        if (v) {
          clearTimeout(timer);
          resolve(v);
        } else this.waiters.push(check);
      };
      check();
    });
  }
}
