/**
 * The VS Code extension: starts the language server (dist/server.js) over IPC, shows which
 * locking rules are in force in the status bar, and offers a few commands.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  RevealOutputChannelOn,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { registerLockOrder } from './lockGraph';
import { registerRaceDemo } from './raceDemo';

/** The `kvmLocklint/status` notification (server/lsp/server.ts StatusParams). */
interface Status {
  rulesSource: string;
  rulesPath: string | null;
  fellBack: boolean;
  warnings: string[];
  files: number;
  functions: number;
  indexing: boolean;
}

const STATUS_NOTIFICATION = 'kvmLocklint/status';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;
let statusItem: vscode.StatusBarItem | undefined;
let lastStatus: Status | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('KVM Lock Lint');
  statusItem = vscode.window.createStatusBarItem('kvmLocklint.rules', vscode.StatusBarAlignment.Left, 50);
  statusItem.name = 'KVM Lock Lint rules';
  statusItem.command = 'kvmLocklint.showRulesSource';
  showStatus(undefined);
  context.subscriptions.push(output, statusItem);

  context.subscriptions.push(
    vscode.commands.registerCommand('kvmLocklint.restartServer', async () => {
      await stopClient();
      await startClient(context);
    }),
    vscode.commands.registerCommand('kvmLocklint.showRulesSource', () => showRulesSource()),
    vscode.commands.registerCommand('kvmLocklint.showOutput', () => output?.show(true)),
  );
  registerRaceDemo(context, () => client);
  registerLockOrder(context, () => client);

  await startClient(context);
}

export function deactivate(): Thenable<void> | undefined {
  return stopClient();
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath(path.join('dist', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'c' },
      { scheme: 'untitled', language: 'c' },
      // VS Code calls .h files C++ unless told otherwise; kernel headers are C.
      { scheme: 'file', language: 'cpp', pattern: '**/*.h' },
    ],
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions: { settings: currentSettings() },
  };
  client = new LanguageClient('kvmLocklint', 'KVM Lock Lint', serverOptions, clientOptions);
  context.subscriptions.push(client.onNotification(STATUS_NOTIFICATION, (s: Status) => showStatus(s)));
  try {
    await client.start();
  } catch (err) {
    output?.appendLine(`KVM Lock Lint: the language server did not start: ${String(err)}`);
    void vscode.window.showErrorMessage('KVM Lock Lint: the language server did not start. See the output channel.');
  }
}

/** The settings as plain data (the server asks for them again through workspace/configuration). */
function currentSettings(): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration('kvmLocklint');
  return { rulesFile: cfg.get('rulesFile'), codes: cfg.get('codes'), maxFileSizeKB: cfg.get('maxFileSizeKB') };
}

async function stopClient(): Promise<void> {
  const c = client;
  client = undefined;
  showStatus(undefined);
  if (c) await c.stop().catch((err: unknown) => output?.appendLine(`stop: ${String(err)}`));
}

function showStatus(status: Status | undefined): void {
  lastStatus = status;
  if (!statusItem) return;
  if (!status) {
    statusItem.text = '$(shield) KVM locking: …';
    statusItem.tooltip = 'KVM Lock Lint: starting';
  } else {
    const name = status.rulesPath ? path.basename(status.rulesPath) : status.fellBack ? 'built-in (document unusable)' : 'built-in';
    statusItem.text = `$(${status.indexing ? 'sync~spin' : 'shield'}) KVM locking: ${name}`;
    const lines = [
      status.rulesPath ? `Rules: ${status.rulesPath}` : 'Rules: built-in (no locking document in this tree)',
      `${status.files} files, ${status.functions} functions${status.indexing ? ' (indexing…)' : ''}`,
      ...status.warnings,
      status.rulesPath ? 'Click to open the document.' : '',
    ];
    statusItem.tooltip = lines.filter(Boolean).join('\n');
  }
  statusItem.show();
}

async function showRulesSource(): Promise<void> {
  const s = lastStatus;
  if (!s) {
    void vscode.window.showInformationMessage('KVM Lock Lint: the language server has not reported its rules yet.');
    return;
  }
  if (s.rulesPath) {
    await vscode.window.showTextDocument(vscode.Uri.file(s.rulesPath), { preview: true });
    return;
  }
  const why = s.fellBack ? ` ${s.warnings.join(' ')}` : ' No Documentation/virt/kvm/locking.rst was found above the open files.';
  void vscode.window.showInformationMessage(`KVM Lock Lint uses the built-in rules.${why}`);
}
