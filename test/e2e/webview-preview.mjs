// Renders the two webviews outside VS Code, in headless Chromium, with real data: the race
// scenarios from model/races and a lock graph given as JSON (or a built-in sample), to look at
// the pictures quickly while working on client/webview/. Writes PNGs and HTML into .e2e/preview/.
//   node test/e2e/webview-preview.mjs [lockGraph.json]
// Needs test/e2e/setup.sh (playwright-core in .e2e/pw) and esbuild (a dev dependency).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, '.e2e/preview');
const require = createRequire(path.join(ROOT, '.e2e/pw/node_modules/'));
const { chromium } = require('playwright-core');
fs.mkdirSync(OUT, { recursive: true });

// the model, bundled on the fly
const bundle = path.join(OUT, 'races.cjs');
await build({ stdin: { contents: "export * from './model/races';", resolveDir: ROOT, loader: 'ts' }, bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'warning' });
const races = createRequire(import.meta.url)(bundle);

const sampleGraph = {
  rulesSource: 'built-in',
  nodes: [
    { id: 'cpu_hotplug_lock', label: 'cpus_read_lock()', documented: true },
    { id: 'kvm_lock', label: 'kvm_lock', documented: true },
    { id: 'kvm.lock', label: 'kvm->lock', documented: true },
    { id: 'kvm_vcpu.mutex', label: 'vcpu->mutex', documented: true },
    { id: 'kvm.slots_lock', label: 'kvm->slots_lock', documented: true },
    { id: 'kvm.irq_lock', label: 'kvm->irq_lock', documented: true },
    { id: 'kvm.mmu_lock', label: 'kvm->mmu_lock', documented: true },
    { id: 'kvm_arch.tdp_mmu_pages_lock', label: 'tdp_mmu_pages_lock', documented: false },
  ],
  edges: [
    { from: 'cpu_hotplug_lock', to: 'kvm_lock', kind: 'documented', ruleRef: 'built-in' },
    { from: 'kvm.lock', to: 'kvm_vcpu.mutex', kind: 'observed', witness: [{ file: 'x86.c', range: { start: { line: 1, character: 1 }, end: { line: 1, character: 5 } }, message: 'taken here' }] },
    { from: 'kvm_vcpu.mutex', to: 'kvm.slots_lock', kind: 'documented', ruleRef: 'built-in' },
    { from: 'kvm.slots_lock', to: 'kvm.irq_lock', kind: 'documented', ruleRef: 'built-in' },
    { from: 'kvm.lock', to: 'kvm.slots_lock', kind: 'observed', witness: [{ file: 'a.c', range: { start: { line: 3, character: 1 }, end: { line: 3, character: 5 } }, message: 'taken here' }] },
    { from: 'kvm.slots_lock', to: 'kvm.lock', kind: 'violation', witness: [{ file: 'b.c', range: { start: { line: 9, character: 1 }, end: { line: 9, character: 5 } }, message: 'taken here' }] },
    { from: 'kvm.mmu_lock', to: 'kvm_arch.tdp_mmu_pages_lock', kind: 'observed', witness: [{ file: 'tdp.c', range: { start: { line: 2, character: 1 }, end: { line: 2, character: 5 } }, message: 'taken here' }] },
    { from: 'kvm.slots_lock', to: 'kvm.mmu_lock', kind: 'observed', witness: [{ file: 'mmu.c', range: { start: { line: 7, character: 1 }, end: { line: 7, character: 5 } }, message: 'taken here' }] },
  ],
};
const graph = process.argv[2] ? JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) : sampleGraph;

// A dark-theme subset of the variables VS Code defines for webviews.
const themeVars = `--vscode-foreground:#cccccc;--vscode-editor-background:#1e1e1e;--vscode-font-family:system-ui,sans-serif;--vscode-font-size:13px;--vscode-editor-font-family:monospace;--vscode-editor-font-size:13px;--vscode-descriptionForeground:#9d9d9d;--vscode-errorForeground:#f48771;--vscode-button-background:#0e639c;--vscode-button-foreground:#fff;--vscode-button-secondaryBackground:#3a3d41;--vscode-button-secondaryForeground:#ccc;--vscode-focusBorder:#007fd4;--vscode-list-activeSelectionBackground:#04395e;--vscode-list-activeSelectionForeground:#fff;--vscode-charts-blue:#3794ff;--vscode-charts-green:#89d185;--vscode-editorWarning-foreground:#cca700;--vscode-textLink-foreground:#3794ff;--vscode-panel-border:#80808059;--vscode-editor-findMatchHighlightBackground:#ea5c0055;--vscode-list-hoverBackground:#2a2d2e;--vscode-inputValidation-errorBackground:#5a1d1d`;
const asset = (f) => fs.readFileSync(path.join(ROOT, 'client/webview', f), 'utf8');
function page(scripts, messages) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>:root{${themeVars}}</style><style>${asset('webview.css')}</style></head>
<body><main id="app"></main><script>window.__posted=[];window.acquireVsCodeApi=()=>({postMessage:m=>window.__posted.push(m),getState:()=>null,setState:()=>{}});</script>
${scripts.map((s) => `<script>${asset(s)}</script>`).join('\n')}
<script>window.__show=${JSON.stringify(messages)};window.__show.forEach(m=>window.postMessage(m,'*'));</script></body></html>`;
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const ctx = await browser.newContext({ viewport: { width: 1300, height: 900 } });
const errors = [];
for (const sc of races.listScenarios()) {
  for (const variant of ['buggy', 'fixed']) {
    const result = races.runScenario(sc.id, variant);
    const html = page(['raceModel.js', 'race.js'], [{ type: 'show', scenario: sc, variant, result }]);
    const file = path.join(OUT, `race-${sc.id}-${variant}.html`);
    fs.writeFileSync(file, html);
    const p = await ctx.newPage();
    p.on('pageerror', (e) => errors.push(`${sc.id}: ${e.message}`));
    await p.goto('file://' + file);
    await p.waitForTimeout(150);
    if (variant === 'buggy') for (let i = 0; i < 40; i++) await p.keyboard.press('ArrowRight');
    await p.screenshot({ path: file.replace(/\.html$/, '.png'), fullPage: true });
    await p.close();
  }
}
const gfile = path.join(OUT, 'lock-order.html');
fs.writeFileSync(gfile, page(['lockGraphLayout.js', 'lockGraph.js'], [{ type: 'graph', graph }]));
const p = await ctx.newPage();
p.on('pageerror', (e) => errors.push(`lock graph: ${e.message}`));
await p.goto('file://' + gfile);
await p.waitForTimeout(150);
await p.screenshot({ path: gfile.replace(/\.html$/, '.png'), fullPage: true });
await browser.close();
console.log(errors.length ? `page errors:\n${errors.join('\n')}` : `previews in ${OUT}`);
process.exit(errors.length ? 1 : 0);
