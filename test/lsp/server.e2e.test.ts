/**
 * The language server end to end, as an editor drives it: `node bin/kvm-locklint-lsp.js --stdio`
 * in a child process, JSON-RPC over its stdin/stdout (vscode-jsonrpc, the protocol library the
 * server itself uses).
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/lspClient';

const REPO = path.resolve(__dirname, '../..');
const ENGINE_READY = fs.existsSync(path.join(REPO, 'server/engine/workspace.ts')) && fs.existsSync(path.join(REPO, 'server/frontend/index.ts'));

const HEADER = `struct mutex { int owner; };
struct kvm {
	struct mutex lock;
	struct mutex slots_lock;
	int nr_memslots;
};
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
void kvm_take_vm_lock(struct kvm *kvm);
`;
const HELPER = `#include "kvm_host.h"

void kvm_take_vm_lock(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
	kvm->nr_memslots++;
	mutex_unlock(&kvm->lock);
}
`;
/** set_memory() calls the helper, which takes kvm->lock, while holding kvm->slots_lock. */
const BAD = `#include "kvm_host.h"

int set_memory(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	kvm_take_vm_lock(kvm);
	mutex_unlock(&kvm->slots_lock);
	return 0;
}
`;

describe.skipIf(!ENGINE_READY)('kvm-locklint-lsp --stdio', () => {
  let dir: string;
  let client: Client;
  let mainUri: string;

  beforeAll(() => {
    if (!fs.existsSync(path.join(REPO, 'dist/server.js'))) {
      execFileSync(process.execPath, [path.join(REPO, 'scripts/build.mjs')], { cwd: REPO });
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-locklint-lsp-'));
    fs.mkdirSync(path.join(dir, 'kvm'));
    fs.writeFileSync(path.join(dir, 'kvm/kvm_host.h'), HEADER);
    fs.writeFileSync(path.join(dir, 'kvm/helpers.c'), HELPER);
    fs.writeFileSync(path.join(dir, 'kvm/memslots.c'), BAD);
    // Enough other files for the server to index with its worker threads.
    for (let i = 0; i < 12; i++) {
      fs.writeFileSync(path.join(dir, `kvm/extra${i}.c`), `#include "kvm_host.h"\nint extra${i}(struct kvm *kvm)\n{\n\treturn kvm->nr_memslots;\n}\n`);
    }
    mainUri = pathToFileURL(path.join(dir, 'kvm/memslots.c')).href;
    const child = spawn(process.execPath, [path.join(REPO, 'bin/kvm-locklint-lsp.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    client = new Client(child);
  });

  afterAll(() => {
    client?.conn.dispose();
    if (client && client.child.exitCode === null) client.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('initializes with a workspace folder and indexes it with progress', async () => {
    const result = await client.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'tree' }],
      capabilities: {
        window: { workDoneProgress: true },
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true }, workspaceFolders: true },
        textDocument: { publishDiagnostics: { relatedInformation: true }, hover: { contentFormat: ['markdown'] } },
      },
    });
    expect(result).toMatchObject({
      capabilities: { hoverProvider: true, textDocumentSync: { change: 2 } },
      serverInfo: { name: 'kvm-locklint' },
    });
    await client.conn.sendNotification('initialized', {});
    const status = await client.until('indexing status', () => client.statuses.find((s) => !s.indexing && s.files >= 15));
    expect(status.rulesSource).toBe('built-in');
    expect(client.progress.map((p) => p.kind)).toEqual(expect.arrayContaining(['begin', 'end']));
  });

  it('publishes the lock-order violation on open, with the chain', async () => {
    await client.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: mainUri, languageId: 'c', version: 1, text: BAD },
    });
    const diags = await client.until('lock-order diagnostic', () =>
      client.diagnostics.get(mainUri)?.filter((d) => d.code === 'lock-order').length ? client.diagnostics.get(mainUri) : undefined,
    );
    const d = diags.find((x) => x.code === 'lock-order')!;
    expect(d.source).toBe('kvm-locklint');
    expect(d.range.start.line).toBe(5);
    expect(d.relatedInformation?.some((r) => r.location.uri.endsWith('/kvm/helpers.c'))).toBe(true);
  });

  it('answers hover on the lock expression', async () => {
    const hover = await client.conn.sendRequest<{ contents: { kind: string; value: string } } | null>('textDocument/hover', {
      textDocument: { uri: mainUri },
      position: { line: 4, character: 20 },
    });
    expect(hover?.contents.kind).toBe('markdown');
    expect(hover?.contents.value).toMatch(/slots_lock/);
  });

  it('offers to suppress the finding on its line', async () => {
    const diags = client.diagnostics.get(mainUri)!;
    const actions = await client.conn.sendRequest<{ title: string; edit: { changes: Record<string, { newText: string }[]> } }[]>(
      'textDocument/codeAction',
      { textDocument: { uri: mainUri }, range: diags[0].range, context: { diagnostics: diags.filter((d) => d.code === 'lock-order') } },
    );
    expect(actions[0].title).toBe('Suppress lock-order on this line');
    expect(actions[0].edit.changes[mainUri][0].newText).toBe(' /* kvm-locklint: ignore lock-order */');
  });

  it('clears the diagnostic when an incremental edit fixes the order', async () => {
    // Move the helper call out of the critical section: delete line 5 and re-insert it above line 4.
    await client.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: mainUri, version: 2 },
      contentChanges: [
        { range: { start: { line: 5, character: 0 }, end: { line: 6, character: 0 } }, text: '' },
        { range: { start: { line: 4, character: 0 }, end: { line: 4, character: 0 } }, text: '\tkvm_take_vm_lock(kvm);\n' },
      ],
    });
    await client.until('lock-order cleared', () => {
      const diags = client.diagnostics.get(mainUri);
      return diags && !diags.some((d) => d.code === 'lock-order');
    });
  });

  it('updates an open file when a change in another file fixes it (cross-file)', async () => {
    // Break it again, then fix it on the other side: the helper stops taking kvm->lock.
    await client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: mainUri, version: 3 }, contentChanges: [{ text: BAD }] });
    await client.until('lock-order back', () => client.diagnostics.get(mainUri)?.some((d) => d.code === 'lock-order'));
    const helperUri = pathToFileURL(path.join(dir, 'kvm/helpers.c')).href;
    await client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: helperUri, languageId: 'c', version: 1, text: HELPER } });
    const lockLine = HELPER.split('\n').findIndex((l) => l.includes('mutex_lock(&kvm->lock)'));
    const unlockLine = HELPER.split('\n').findIndex((l) => l.includes('mutex_unlock(&kvm->lock)'));
    await client.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: helperUri, version: 2 },
      contentChanges: [
        { range: { start: { line: unlockLine, character: 0 }, end: { line: unlockLine + 1, character: 0 } }, text: '' },
        { range: { start: { line: lockLine, character: 0 }, end: { line: lockLine + 1, character: 0 } }, text: '' },
      ],
    });
    await client.until('lock-order cleared through the other file', () => {
      const diags = client.diagnostics.get(mainUri);
      return diags && !diags.some((d) => d.code === 'lock-order');
    });
  });

  it('follows the settings: a disabled code disappears, its severity can be changed', async () => {
    await client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: mainUri, version: 10 }, contentChanges: [{ text: BAD }] });
    const helperUri = pathToFileURL(path.join(dir, 'kvm/helpers.c')).href;
    await client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: helperUri, version: 10 }, contentChanges: [{ text: HELPER }] });
    await client.until('lock-order back', () => client.diagnostics.get(mainUri)?.some((d) => d.code === 'lock-order'));

    client.settings = { codes: { 'lock-order': { enabled: true, severity: 'information' } } };
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
    await client.until('lock-order as information', () =>
      client.diagnostics.get(mainUri)?.some((d) => d.code === 'lock-order' && (d as { severity?: number }).severity === 3),
    );

    client.settings = { codes: { 'lock-order': { enabled: false } } };
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
    await client.until('lock-order disabled', () => {
      const diags = client.diagnostics.get(mainUri);
      return diags && !diags.some((d) => d.code === 'lock-order');
    });
    client.settings = {};
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
    await client.until('lock-order enabled again', () => client.diagnostics.get(mainUri)?.some((d) => d.code === 'lock-order'));
  });

  it('judges by kvmLocklint.rulesFile when set, and says so in the status', async () => {
    const doc = path.join(dir, 'my-locking.rst');
    fs.writeFileSync(doc, 'KVM Lock Overview\n=================\n\n1. Acquisition Orders\n---------------------\n\n- kvm->lock is taken outside kvm->slots_lock\n');
    const seen = client.statuses.length;
    client.settings = { rulesFile: 'my-locking.rst' };
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
    const status = await client.until('status with the rules file', () =>
      client.statuses.slice(seen).find((s) => s.rulesPath === doc && !s.indexing),
    );
    expect(status.rulesSource).toBe('my-locking.rst');
    await client.until('lock-order under the file rules', () =>
      client.diagnostics.get(mainUri)?.some((d) => d.code === 'lock-order' && d.message.includes('my-locking.rst')),
    );
    client.settings = {};
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
  });

  it('moves a diagnostic and the line its message names when lines are inserted above it', async () => {
    const uri = pathToFileURL(path.join(dir, 'kvm/leaky.c')).href;
    const text = `#include "kvm_host.h"\n\nint kvm_leaky(struct kvm *kvm, int err)\n{\n\tmutex_lock(&kvm->lock);\n\tif (err)\n\t\treturn err;\n\tmutex_unlock(&kvm->lock);\n\treturn 0;\n}\n`;
    await client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
    const leak = (d: { code?: string }) => d.code === 'lock-imbalance';
    const before = (await client.until('lock-imbalance', () => client.diagnostics.get(uri)?.find(leak)))!;
    expect(before.range.start.line).toBe(6);
    expect(before.message).toContain('taken at line 5');
    // Two lines above the function, in one incremental change: the function only moves.
    await client.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: 'int kvm_other;\n\n' }],
    });
    const after = await client.until('lock-imbalance moved', () => client.diagnostics.get(uri)?.find((d) => leak(d) && d.range.start.line === 8));
    expect(after.message).toContain('taken at line 7');
  });

  it('survives garbage: bad params, unknown methods, binary and foreign documents', async () => {
    await expect(client.conn.sendRequest('textDocument/hover', { nonsense: true })).resolves.toBeNull();
    await expect(client.conn.sendRequest('kvmLocklint/noSuchThing', {})).rejects.toThrow();
    await client.conn.sendNotification('textDocument/didOpen', { textDocument: null });
    await client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: 'file:///nowhere.c' }, contentChanges: 'x' });
    const binUri = pathToFileURL(path.join(dir, 'kvm/blob.c')).href;
    await client.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: binUri, languageId: 'c', version: 1, text: '\u007fELF\u0000\u0000\u0001\u0002'.repeat(1000) },
    });
    await client.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: 'file:///elsewhere/script.py', languageId: 'python', version: 1, text: 'import os\n' },
    });
    await client.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: 'file:///outside/tree/huge.c', languageId: 'c', version: 1, text: 'int x;\n'.repeat(500_000) },
    });
    await client.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: 'untitled:Untitled-1', languageId: 'c', version: 1, text: 'void f(void) { mutex_lock(&kvm->slots_lock); \n' },
    });
    await client.until('binary document answered', () => client.diagnostics.has(binUri) || undefined);
    expect(client.diagnostics.get(binUri)).toEqual([]);
    // Still alive and still right.
    const hover = await client.conn.sendRequest('textDocument/hover', { textDocument: { uri: mainUri }, position: { line: 5, character: 20 } });
    expect(hover === null || typeof hover === 'object').toBe(true);
    expect(client.child.exitCode).toBeNull();
  });

  it('shuts down and exits cleanly', async () => {
    await client.conn.sendRequest('shutdown');
    const exited = new Promise<number | null>((resolve) => client.child.on('exit', (code) => resolve(code)));
    await client.conn.sendNotification('exit');
    expect(await exited).toBe(0);
  });
});
