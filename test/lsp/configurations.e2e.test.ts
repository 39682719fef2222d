/**
 * The language server on a tree with two architectures: each architecture is judged in its own
 * configuration, generic files get the union of the configurations' findings, an edit of a
 * generic file reaches every configuration, and the lock graph follows the focused architecture.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Diagnostic } from '../support/lspClient';
import { GENERIC_C, HEADER, PPC_C, X86_C } from '../support/multiArchTree';

const REPO = path.resolve(__dirname, '../..');

const summary = (ds: Diagnostic[] | undefined) => (ds ?? []).map((d) => `${d.code}:${d.range.start.line + 1}`).join(',');

describe('kvm-locklint-lsp: one configuration per architecture', () => {
  let dir: string;
  let client: Client;
  const uri = (rel: string) => pathToFileURL(path.join(dir, rel)).href;
  const open = (rel: string, text: string) =>
    client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: uri(rel), languageId: 'c', version: 1, text } });
  const waitFor = (rel: string, expected: string) =>
    client.until(`${rel} = [${expected}]`, () => client.diagnostics.has(uri(rel)) && summary(client.diagnostics.get(uri(rel))) === expected);

  beforeAll(async () => {
    if (!fs.existsSync(path.join(REPO, 'dist/server.js'))) execFileSync(process.execPath, [path.join(REPO, 'scripts/build.mjs')], { cwd: REPO });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-locklint-lsp-archs-'));
    const tree: Record<string, string> = {
      'include/linux/kvm_host.h': HEADER,
      'virt/kvm/kvm_main.c': GENERIC_C,
      'arch/x86/kvm/x86.c': X86_C,
      'arch/powerpc/kvm/powerpc.c': PPC_C,
    };
    for (const [rel, text] of Object.entries(tree)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    }
    client = new Client(spawn(process.execPath, [path.join(REPO, 'bin/kvm-locklint-lsp.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] }));
    await client.conn.sendRequest('initialize', {
      processId: process.pid,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'tree' }],
      capabilities: { window: { workDoneProgress: true } },
    });
    await client.conn.sendNotification('initialized', {});
    await client.until('indexed', () => client.statuses.find((s) => !s.indexing && s.files >= 4));
  });

  afterAll(() => {
    client?.conn.dispose();
    if (client && client.child.exitCode === null) client.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('judges each architecture by its own definitions, generic files by the union', async () => {
    await open('arch/powerpc/kvm/powerpc.c', PPC_C);
    await open('arch/x86/kvm/x86.c', X86_C);
    await open('virt/kvm/kvm_main.c', GENERIC_C);
    await waitFor('arch/powerpc/kvm/powerpc.c', '');
    await waitFor('arch/x86/kvm/x86.c', 'lock-order:13');
    await waitFor('virt/kvm/kvm_main.c', 'sleep-in-atomic:12,lock-imbalance:21');
    const chain = client.diagnostics.get(uri('arch/x86/kvm/x86.c'))![0].relatedInformation ?? [];
    expect(chain.some((r) => r.location.uri.includes('/powerpc/'))).toBe(false);
  });

  it('answers hover on a generic file and draws the lock graph of the focused architecture', async () => {
    const hover = await client.conn.sendRequest<{ contents: { value: string } } | null>('textDocument/hover', {
      textDocument: { uri: uri('virt/kvm/kvm_main.c') },
      position: { line: 10, character: 20 },
    });
    expect(hover?.contents.value).toMatch(/gen_lock/);
    type Graph = { edges: { from: string; to: string }[] };
    await client.conn.sendRequest('textDocument/hover', { textDocument: { uri: uri('arch/powerpc/kvm/powerpc.c') }, position: { line: 11, character: 20 } });
    const ppc = await client.conn.sendRequest<Graph>('kvmLocklint/lockGraph');
    const edges = (g: Graph) => g.edges.map((e) => `${e.from}>${e.to}`);
    expect(edges(ppc)).toContain('kvm.ppc_outer>kvm.ppc_lock');
    expect(edges(ppc)).not.toContain('kvm.slots_lock>kvm.lock');
    await client.conn.sendRequest('textDocument/hover', { textDocument: { uri: uri('arch/x86/kvm/x86.c') }, position: { line: 11, character: 20 } });
    const x86 = await client.conn.sendRequest<Graph>('kvmLocklint/lockGraph');
    expect(edges(x86)).toContain('kvm.slots_lock>kvm.lock');
    expect(edges(x86)).not.toContain('kvm.ppc_outer>kvm.ppc_lock');
  });

  it('sends an edit of a generic file to every configuration', async () => {
    // kvm_generic_helper now takes kvm->lock itself instead of calling kvm_arch_foo: x86's
    // inversion stays (through the helper), and powerpc's caller now sleeps under its spinlock.
    const lines = GENERIC_C.split('\n');
    const at = lines.indexOf('\tkvm_arch_foo(kvm);');
    await client.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: uri('virt/kvm/kvm_main.c'), version: 2 },
      contentChanges: [
        {
          range: { start: { line: at, character: 0 }, end: { line: at, character: lines[at].length } },
          text: '\tmutex_lock(&kvm->lock);\n\tmutex_unlock(&kvm->lock);',
        },
      ],
    });
    await waitFor('arch/powerpc/kvm/powerpc.c', 'sleep-in-atomic:13');
    await waitFor('arch/x86/kvm/x86.c', 'lock-order:13');
    const chain = client.diagnostics.get(uri('arch/x86/kvm/x86.c'))![0].relatedInformation ?? [];
    expect(chain.map((r) => r.location.uri).every((u) => !u.includes('/powerpc/'))).toBe(true);
    // x86's configuration saw the edit too: kvm->lock is now taken in the generic helper itself.
    await client.until('x86 chain through the edited helper', () =>
      client.diagnostics.get(uri('arch/x86/kvm/x86.c'))?.[0]?.relatedInformation?.at(-1)?.location.uri.endsWith('/virt/kvm/kvm_main.c'),
    );
    await waitFor('virt/kvm/kvm_main.c', 'sleep-in-atomic:13,lock-imbalance:22');
  });
});
