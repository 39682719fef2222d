/**
 * The HTML shell of the extension's webviews: a strict Content-Security-Policy (nothing remote,
 * scripts only with this page's nonce, styles only from the extension), assets from dist/webview/.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** Where the build copies client/webview/*. */
export function webviewAssetRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

/** Options for a panel that may load only our own assets. */
export function webviewPanelOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [webviewAssetRoot(extensionUri)],
    retainContextWhenHidden: false,
  };
}

export interface PageSpec {
  title: string;
  /** Script files in dist/webview/, loaded in this order. */
  scripts: string[];
  styles: string[];
}

export function buildWebviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: PageSpec): string {
  const nonce = randomBytes(16).toString('base64');
  const root = webviewAssetRoot(extensionUri);
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(root, name)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const styles = page.styles.map((s) => `<link rel="stylesheet" href="${escapeAttr(asset(s))}">`).join('\n    ');
  const scripts = page.scripts
    .map((s) => `<script nonce="${nonce}" src="${escapeAttr(asset(s))}"></script>`)
    .join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>${escapeText(page.title)}</title>
    ${styles}
  </head>
  <body>
    <main id="app"></main>
    ${scripts}
  </body>
</html>`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
