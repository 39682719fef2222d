/**
 * `kvm-locklint-lsp` (dist/server.js): the language server. `--stdio` for any editor; VS Code's
 * client starts this same bundle over node IPC. The transport is picked from the command line by
 * vscode-languageserver (`--stdio`, `--node-ipc`, `--socket=N`, `--pipe=NAME`).
 */
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { createWorkspace } from '../engine/workspace';
import { toolVersion } from '../cli/packageInfo';
import { registerCustomRequests } from './customRequests';
import { LocklintServer } from './server';

function start(): void {
  if (process.argv.includes('--version')) {
    process.stdout.write(`kvm-locklint-lsp ${toolVersion()}\n`);
    return;
  }
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(
      'usage: kvm-locklint-lsp [--stdio | --node-ipc | --socket=PORT | --pipe=NAME]\n' +
        'The kvm-locklint language server (default transport: --stdio). Settings: section "kvmLocklint"\n' +
        '(rulesFile, codes, maxFileSizeKB) through workspace/configuration or initializationOptions.settings.\n',
    );
    return;
  }
  const connection = createConnection(ProposedFeatures.all);
  const server = new LocklintServer(connection, createWorkspace);
  registerCustomRequests(connection, { lockGraph: () => server.lockGraph() });
  server.listen();

  // A bug must cost one answer, never the server: log it and carry on.
  const log = (what: string) => (err: unknown) => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    try {
      connection.console.error(`kvm-locklint: ${what}: ${text}`);
    } catch {
      process.stderr.write(`kvm-locklint: ${what}: ${text}\n`);
    }
  };
  process.on('uncaughtException', log('uncaught exception'));
  process.on('unhandledRejection', log('unhandled rejection'));
}

start();
