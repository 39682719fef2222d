/**
 * The language server on a tree with two architectures: each architecture is judged in its own
 * configuration, generic files get the union of the configurations' findings, an edit of a
 * generic file reaches every configuration, and the lock graph follows the focused architecture.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';

const REPO = path.resolve(__dirname, '../..');

const HEADER = `struct mutex { int owner; };
typedef struct { int raw; } spinlock_t;
struct kvm {
	struct mutex lock;
	struct mutex slots_lock;
	spinlock_t gen_lock;
	spinlock_t ppc_lock;
	spinlock_t ppc_outer;
	int n;
};
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
void kvm_arch_foo(struct kvm *kvm);
void kvm_generic_helper(struct kvm *kvm);
`;
const GENERIC_C = `#include <linux/kvm_host.h>

void kvm_generic_helper(struct kvm *kvm)
{
	kvm_arch_foo(kvm);
}

void kvm_generic_atomic(struct kvm *kvm)
{
	spin_lock(&kvm->gen_lock);
	kvm_arch_foo(kvm);
	spin_unlock(&kvm->gen_lock);
}

int kvm_generic_leak(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	if (kvm->n)
		return -1;
	mutex_unlock(&kvm->slots_lock);
	return 0;
}
`;
const X86_C = `#include <linux/kvm_host.h>

void kvm_arch_foo(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
	kvm->n++;
	mutex_unlock(&kvm->lock);
}

void x86_caller(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	kvm_generic_helper(kvm);
	mutex_unlock(&kvm->slots_lock);
}
`;
const PPC_C = `#include <linux/kvm_host.h>

void kvm_arch_foo(struct kvm *kvm)
{
	spin_lock(&kvm->ppc_lock);
	kvm->n--;
	spin_unlock(&kvm->ppc_lock);
}

void ppc_caller(struct kvm *kvm)
{
	spin_lock(&kvm->ppc_outer);
	kvm_generic_helper(kvm);
	spin_unlock(&kvm->ppc_outer);
}
`;

interface Diagnostic {
  range: { start: { line: number; character: number } };
  code?: string;
  message: string;
  relatedInformation?: { location: { uri: string }; message: string }[];
}

class Client {
  readonly conn: MessageConnection;
  readonly diagnostics = new Map<string, Diagnostic[]>();
  readonly statuses: { files: number; indexing: boolean }[] = [];
  private waiters: (() => void)[] = [];
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
    this.conn.onRequest('window/workDoneProgress/create', () => null);
    this.conn.onNotification('window/logMessage', (p: { message: string }) => {
      if (process.env.LSP_TEST_LOG) console.log('[server]', p.message);
    });
    this.conn.listen();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

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
    await waitFor('virt/kvm/kvm_main.c', 'sleep-in-atomic:11,lock-imbalance:19');
    const chain = client.diagnostics.get(uri('arch/x86/kvm/x86.c'))![0].relatedInformation ?? [];
    expect(chain.some((r) => r.location.uri.includes('/powerpc/'))).toBe(false);
  });

  it('answers hover on a generic file and draws the lock graph of the focused architecture', async () => {
    const hover = await client.conn.sendRequest<{ contents: { value: string } } | null>('textDocument/hover', {
      textDocument: { uri: uri('virt/kvm/kvm_main.c') },
      position: { line: 9, character: 20 },
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
    await waitFor('virt/kvm/kvm_main.c', 'sleep-in-atomic:12,lock-imbalance:20');
  });
});
