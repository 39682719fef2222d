/**
 * "KVM Lock Lint: Show race…": pick one of the race scenarios of the locking document and replay
 * its counterexample in a webview (client/webview/race.js). The data comes from the language
 * server (kvmLocklint/races, kvmLocklint/race); the client never runs the model itself.
 */
import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import { buildWebviewHtml, webviewPanelOptions } from './webviewHtml';

export const SHOW_RACE_COMMAND = 'kvmLocklint.showRace';
const RACES_REQUEST = 'kvmLocklint/races';
const RACE_REQUEST = 'kvmLocklint/race';

type Variant = 'buggy' | 'fixed';

/** What kvmLocklint/races returns per scenario (the model's listScenarios(), JSON-safe). */
export interface RaceScenarioInfo {
  id: string;
  title: string;
  description?: string;
  docRef?: string;
}

type ClientGetter = () => BaseLanguageClient | undefined;

interface Current {
  scenario: RaceScenarioInfo;
  variant: Variant;
  result: unknown;
}

export function registerRaceDemo(context: vscode.ExtensionContext, getClient: ClientGetter): void {
  let panel: vscode.WebviewPanel | undefined;
  let current: Current | undefined;

  const request = async <R>(method: string, params?: unknown): Promise<R> => {
    const client = getClient();
    if (!client) throw new Error('the KVM Lock Lint language server is not running');
    return client.sendRequest<R>(method, params);
  };

  const load = async (scenario: RaceScenarioInfo, variant: Variant): Promise<void> => {
    if (!panel) return;
    void panel.webview.postMessage({ type: 'loading', variant });
    try {
      const result = await request<unknown>(RACE_REQUEST, { id: scenario.id, variant });
      current = { scenario, variant, result };
      panel.title = `Race: ${scenario.title}`;
      void panel.webview.postMessage({ type: 'show', ...current });
    } catch (err) {
      void panel.webview.postMessage({ type: 'error', message: `Could not run ${scenario.id} (${variant}): ${describe(err)}` });
    }
  };

  const ensurePanel = (): vscode.WebviewPanel => {
    if (panel) {
      panel.reveal(undefined, false);
      return panel;
    }
    panel = vscode.window.createWebviewPanel('kvmLocklint.race', 'Race demo', vscode.ViewColumn.Active, webviewPanelOptions(context.extensionUri));
    panel.webview.html = buildWebviewHtml(panel.webview, context.extensionUri, {
      title: 'KVM Lock Lint race demo',
      styles: ['webview.css'],
      scripts: ['raceModel.js', 'race.js'],
    });
    panel.webview.onDidReceiveMessage(
      (msg: { type?: string; variant?: string }) => {
        if (msg?.type === 'ready' && current) void panel?.webview.postMessage({ type: 'show', ...current });
        else if (msg?.type === 'variant' && current && (msg.variant === 'buggy' || msg.variant === 'fixed')) {
          void load(current.scenario, msg.variant);
        }
      },
      undefined,
      context.subscriptions,
    );
    panel.onDidDispose(() => {
      panel = undefined;
      current = undefined;
    }, undefined, context.subscriptions);
    return panel;
  };

  const show = async (idArg?: unknown): Promise<void> => {
    let scenarios: RaceScenarioInfo[];
    try {
      scenarios = await request<RaceScenarioInfo[]>(RACES_REQUEST);
    } catch (err) {
      void vscode.window.showErrorMessage(`KVM Lock Lint: cannot list the race scenarios: ${describe(err)}`);
      return;
    }
    let scenario = typeof idArg === 'string' ? scenarios.find((s) => s.id === idArg) : undefined;
    if (!scenario) {
      const picked = await vscode.window.showQuickPick(
        scenarios.map((s) => ({ label: s.title || s.id, description: s.id, detail: s.description, scenario: s })),
        { title: 'KVM Lock Lint: Show race', placeHolder: 'Which race of the locking document?', matchOnDescription: true, matchOnDetail: true },
      );
      if (!picked) return;
      scenario = picked.scenario;
    }
    ensurePanel();
    current = undefined;
    await load(scenario, 'buggy');
  };

  context.subscriptions.push(vscode.commands.registerCommand(SHOW_RACE_COMMAND, show));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
