/**
 * "KVM Lock Lint: Show lock order": the workspace's lock graph (documented, observed and violating
 * edges) drawn by client/webview/lockGraph.js. Choosing an edge opens its witness ("taken here",
 * the last step of the chain) or, for a documented edge, the rule's line in the locking document.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import { buildWebviewHtml, webviewPanelOptions } from './webviewHtml';

export const SHOW_LOCK_ORDER_COMMAND = 'kvmLocklint.showLockOrder';
const LOCK_GRAPH_REQUEST = 'kvmLocklint/lockGraph';

/**
 * The wire shape of server/engine/lockGraphTypes.ts (the client may not import server/). Positions
 * are the analyzer's 0-based {line, column}; LSP's {line, character} is accepted too.
 */
interface WirePos {
  line: number;
  column?: number;
  character?: number;
}
interface WireLocation {
  file: string;
  range: { start: WirePos; end: WirePos };
  message: string;
}
interface WireEdge {
  from: string;
  to: string;
  kind: 'documented' | 'observed' | 'violation';
  ruleRef?: string;
  witness?: WireLocation[];
}
interface WireGraph {
  rulesSource: string;
  nodes: { id: string; label: string; documented: boolean }[];
  edges: WireEdge[];
}

type ClientGetter = () => BaseLanguageClient | undefined;

export function registerLockOrder(context: vscode.ExtensionContext, getClient: ClientGetter): void {
  let panel: vscode.WebviewPanel | undefined;
  let graph: WireGraph | undefined;

  const refresh = async (): Promise<void> => {
    if (!panel) return;
    try {
      const client = getClient();
      if (!client) throw new Error('the KVM Lock Lint language server is not running');
      graph = await client.sendRequest<WireGraph>(LOCK_GRAPH_REQUEST);
      void panel.webview.postMessage({ type: 'graph', graph });
    } catch (err) {
      void panel.webview.postMessage({ type: 'error', message: `Could not get the lock graph: ${describe(err)}` });
    }
  };

  const show = async (): Promise<void> => {
    if (panel) {
      panel.reveal(undefined, false);
      await refresh();
      return;
    }
    panel = vscode.window.createWebviewPanel('kvmLocklint.lockOrder', 'Lock order', vscode.ViewColumn.Active, webviewPanelOptions(context.extensionUri));
    panel.webview.html = buildWebviewHtml(panel.webview, context.extensionUri, {
      title: 'KVM Lock Lint lock order',
      styles: ['webview.css'],
      scripts: ['lockGraphLayout.js', 'lockGraph.js'],
    });
    panel.webview.onDidReceiveMessage(
      (msg: { type?: string; edge?: number }) => {
        if (msg?.type === 'ready' || msg?.type === 'refresh') void refresh();
        else if (msg?.type === 'open' && typeof msg.edge === 'number' && graph?.edges[msg.edge]) {
          void openEdge(graph, graph.edges[msg.edge]);
        }
      },
      undefined,
      context.subscriptions,
    );
    panel.onDidDispose(() => {
      panel = undefined;
      graph = undefined;
    }, undefined, context.subscriptions);
  };

  context.subscriptions.push(vscode.commands.registerCommand(SHOW_LOCK_ORDER_COMMAND, show));
}

async function openEdge(graph: WireGraph, edge: WireEdge): Promise<void> {
  try {
    const witness = edge.witness ?? [];
    if (witness.length > 0) {
      // the last step is where the inner lock is taken: the place to look at first
      const at = witness[witness.length - 1];
      const range = new vscode.Range(toPosition(at.range.start), toPosition(at.range.end));
      await vscode.window.showTextDocument(toUri(at.file), { selection: range, viewColumn: vscode.ViewColumn.Beside, preview: true });
      return;
    }
    const ref = edge.ruleRef?.match(/^(.*):(\d+)$/);
    if (ref && graph.rulesSource && graph.rulesSource !== 'built-in') {
      const line = Math.max(0, Number(ref[2]) - 1);
      await vscode.window.showTextDocument(toUri(graph.rulesSource), {
        selection: new vscode.Range(line, 0, line, 0),
        viewColumn: vscode.ViewColumn.Beside,
        preview: true,
      });
      return;
    }
    void vscode.window.showInformationMessage(`${edge.from} → ${edge.to}: ${edge.ruleRef ?? 'no location recorded'}`);
  } catch (err) {
    void vscode.window.showErrorMessage(`KVM Lock Lint: cannot open the location: ${describe(err)}`);
  }
}

function toPosition(p: WirePos | undefined): vscode.Position {
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);
  return new vscode.Position(n(p?.line), n(p?.column ?? p?.character));
}

/** Witness files are file URIs, absolute paths, or paths relative to the workspace. */
function toUri(file: string): vscode.Uri {
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(file)) return vscode.Uri.parse(file);
  if (path.isAbsolute(file)) return vscode.Uri.file(file);
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? vscode.Uri.joinPath(folder.uri, file) : vscode.Uri.file(path.resolve(file));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
