/**
 * Quick fixes: the pure builders (C text + diagnostic -> edit), fed with diagnostics the analyzer
 * really produces, and re-checked after the edit is applied.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';
import type { CodeAction, Diagnostic, TextEdit } from 'vscode-languageserver/node';
import { builtinRules } from '../../model/rules';
import { createWorkspace } from '../../server/engine/workspace';
import { enclosingFunction, semanticCodeActions, spteFix } from '../../server/lsp/codeActions';
import { toDiagnostic } from '../../server/lsp/convert';

const URI = 'file:///tree/virt/kvm/fix.c';

/** Applies LSP text edits (non-overlapping) to a text. */
function apply(text: string, edits: TextEdit[]): string {
  const lines = text.split('\n');
  const offset = (p: { line: number; character: number }): number => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

async function diagnosticsOf(file: string, text: string, extra: Record<string, string> = {}): Promise<{ diags: Diagnostic[]; recheck(t: string): Diagnostic[] }> {
  const ws = await createWorkspace({ rules: builtinRules() });
  for (const [p, t] of Object.entries(extra)) ws.setFile(p, t);
  ws.setFile(file, text);
  const conv = (): Diagnostic[] => (ws.analyze().findings.get(file) ?? []).map(toDiagnostic);
  return {
    diags: conv(),
    recheck(t: string) {
      ws.setFile(file, t);
      return conv();
    },
  };
}

const HELPERS = `
static void zap_all_fast(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->slots_lock);
	kvm->nr_zaps++;
}

static void free_roots_exclusive(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm->nr_zaps = 0;
}

static void vcpu_reset_locked(struct kvm_vcpu *vcpu)
{
	lockdep_assert_held(&vcpu->mutex);
	vcpu->reset = 1;
}

static void tsc_track_write(struct kvm *kvm, u64 tsc)
{
	struct kvm_arch *ka = &kvm->arch;

	lockdep_assert_held(&ka->tsc_write_lock);
	ka->last_tsc_write = tsc;
}
`;

describe('reading the enclosing function from the text', () => {
  it('finds the parameters, the top-of-body declarations and the first statement', () => {
    const text = `/* { not code } */
#define X {
static int __must_check frob(struct kvm_vcpu *vcpu, const struct kvm_memory_slot *slot, u64 *sptep)
{
	struct kvm *kvm = vcpu->kvm, *other;
	unsigned long flags;
	LIST_HEAD(invalid_list);

	if (!slot) /* } */
		return -EINVAL;
	return 0;
}
`;
    const at = text.indexOf('return -EINVAL');
    const fn = enclosingFunction(text, at, 'frob')!;
    expect(fn.name).toBe('frob');
    expect(fn.params).toEqual([
      { name: 'vcpu', type: 'kvm_vcpu', pointer: true },
      { name: 'slot', type: 'kvm_memory_slot', pointer: true },
      { name: 'sptep', type: 'u64', pointer: true },
    ]);
    expect(fn.locals).toEqual([
      { name: 'kvm', type: 'kvm', pointer: true },
      { name: 'other', type: 'kvm', pointer: true },
      { name: 'flags', type: 'long', pointer: false },
    ]);
    expect(text.slice(fn.firstStatement, fn.firstStatement + 9)).toBe('if (!slot');
    expect(enclosingFunction(text, at, 'other_name')).toBeNull();
    expect(enclosingFunction(text, 3, 'frob')).toBeNull();
  });
});

describe('lock-requires: add the assertion to the function that reaches the requirement', () => {
  it('uses a struct kvm parameter, inserts after the declarations in tab indentation, and the finding goes away', async () => {
    const text = `
static int set_nx_huge_pages_unlocked(struct kvm *kvm, int on)
{
	int r = 0;

	zap_all_fast(kvm);
	return r;
}
`;
    const { diags, recheck } = await diagnosticsOf('virt/kvm/fix.c', text, { 'virt/kvm/helpers.c': HELPERS });
    const d = diags.find((x) => x.code === 'lock-requires')!;
    expect(d).toBeDefined();
    const actions = semanticCodeActions(URI, 'virt/kvm/fix.c', text, [d]);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ title: 'Add lockdep_assert_held(&kvm->slots_lock) to set_nx_huge_pages_unlocked()', kind: 'quickfix', isPreferred: true, diagnostics: [d] });
    const fixed = apply(text, actions[0].edit!.changes![URI]);
    expect(fixed).toContain('{\n\tint r = 0;\n\n\tlockdep_assert_held(&kvm->slots_lock);\n\n\tzap_all_fast(kvm);\n');
    expect(recheck(fixed).filter((x) => x.code === 'lock-requires')).toEqual([]);
  });

  it('reaches struct kvm through a vcpu parameter, and states a write requirement as lockdep_assert_held_write', async () => {
    const text = `
static void vcpu_free_roots(struct kvm_vcpu *vcpu)
{
	free_roots_exclusive(vcpu->kvm);
}
`;
    const { diags, recheck } = await diagnosticsOf('virt/kvm/fix.c', text, { 'virt/kvm/helpers.c': HELPERS });
    const d = diags.find((x) => x.code === 'lock-requires')!;
    const [a] = semanticCodeActions(URI, 'virt/kvm/fix.c', text, [d]);
    expect(a.title).toBe('Add lockdep_assert_held_write(&vcpu->kvm->mmu_lock) to vcpu_free_roots()');
    const fixed = apply(text, a.edit!.changes![URI]);
    expect(fixed).toContain('{\n\tlockdep_assert_held_write(&vcpu->kvm->mmu_lock);\n\n\tfree_roots_exclusive(vcpu->kvm);');
    expect(recheck(fixed).filter((x) => x.code === 'lock-requires')).toEqual([]);
  });

  it('uses a local declared at the top and maps kvm_arch fields through kvm->arch', async () => {
    const text = `
static void vcpu_write_tsc(struct kvm_vcpu *vcpu, u64 tsc)
{
	struct kvm *kvm = vcpu->kvm;

	tsc_track_write(kvm, tsc);
}
`;
    const { diags } = await diagnosticsOf('arch/x86/kvm/fix.c', text, { 'arch/x86/kvm/helpers.c': HELPERS });
    const d = diags.find((x) => x.code === 'lock-requires')!;
    const [a] = semanticCodeActions(URI, 'arch/x86/kvm/fix.c', text, [d]);
    // The local `kvm` reaches struct kvm in no steps, the vcpu parameter in one: the local wins.
    expect(a.title).toBe('Add lockdep_assert_held(&kvm->arch.tsc_write_lock) to vcpu_write_tsc()');
  });

  it('prefers the variable the call passes on when two could do, and offers nothing when it cannot tell', async () => {
    const text = `
static int move_enc_context(struct kvm *dst, struct kvm *src)
{
	zap_all_fast(src);
	return 0;
}

static int copy_enc_context(struct kvm *dst, struct kvm *src)
{
	zap_all_fast(pick_kvm(dst, src));
	return 0;
}

static void reset_all(struct kvm *kvm, struct kvm_vcpu *a, struct kvm_vcpu *b)
{
	vcpu_reset_locked(kvm_get_vcpu(kvm, 0));
}
`;
    const { diags } = await diagnosticsOf('virt/kvm/fix.c', text, { 'virt/kvm/helpers.c': HELPERS });
    const req = diags.filter((x) => x.code === 'lock-requires');
    expect(req).toHaveLength(3);
    const titles = req.map((d) => semanticCodeActions(URI, 'virt/kvm/fix.c', text, [d]).map((a) => a.title));
    expect(titles[0]).toEqual(['Add lockdep_assert_held(&src->slots_lock) to move_enc_context()']);
    expect(titles[1]).toEqual([]); // dst or src? never guess
    expect(titles[2]).toEqual([]); // vcpu a or b? never guess
  });

  it('offers nothing when no parameter or local reaches the lock', async () => {
    const text = `
static void reset_from_worker(struct work_struct *work)
{
	vcpu_reset_locked(work_to_vcpu(work));
}
`;
    const { diags } = await diagnosticsOf('virt/kvm/fix.c', text, { 'virt/kvm/helpers.c': HELPERS });
    const d = diags.find((x) => x.code === 'lock-requires')!;
    expect(d).toBeDefined();
    expect(semanticCodeActions(URI, 'virt/kvm/fix.c', text, [d])).toEqual([]);
  });
});

describe('rwlock-mode', () => {
  it('offers no assertion (the function itself takes the lock for read: asserting write mode would contradict it)', async () => {
    const text = `
static void zap_shared(struct kvm *kvm)
{
	read_lock(&kvm->mmu_lock);
	free_roots_exclusive(kvm);
	read_unlock(&kvm->mmu_lock);
}
`;
    const { diags } = await diagnosticsOf('virt/kvm/fix.c', text, { 'virt/kvm/helpers.c': HELPERS });
    const d = diags.find((x) => x.code === 'rwlock-mode')!;
    expect(d).toBeDefined();
    expect(semanticCodeActions(URI, 'virt/kvm/fix.c', text, [d])).toEqual([]);
  });
});

describe('spte-nonatomic: the atomic writer of the same MMU family', () => {
  const diag = (text: string, snippet: string): Diagnostic => {
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes(snippet));
    const character = lines[line].indexOf(snippet);
    return { code: 'spte-nonatomic', message: '', range: { start: { line, character }, end: { line, character: character + snippet.length } } };
  };
  const fix = (file: string, stmt: string): string | null => {
    const text = `static void f(u64 *sptep, struct tdp_iter *iter)\n{\n\t${stmt};\n}\n`;
    const r = spteFix(text, diag(text, stmt), file);
    return r ? `${r.title} => ${apply(text, r.edits).split('\n')[2].trim()}` : null;
  };

  it('replaces the plain shadow-MMU writers by __update_clear_spte_slow', () => {
    expect(fix('mmu.c', '__update_clear_spte_fast(sptep, SHADOW_NONPRESENT_VALUE)')).toBe(
      'Use __update_clear_spte_slow() (atomic xchg) => __update_clear_spte_slow(sptep, SHADOW_NONPRESENT_VALUE);',
    );
    expect(fix('mmu.c', '__set_spte(sptep, spte & ~PT_WRITABLE_MASK)')).toBe('Use __update_clear_spte_slow() (atomic xchg) => __update_clear_spte_slow(sptep, spte & ~PT_WRITABLE_MASK);');
    expect(fix('mmu.c', 'WRITE_ONCE(*sptep, spte & ~PT_DIRTY_MASK)')).toBe('Use __update_clear_spte_slow() (atomic xchg) => __update_clear_spte_slow(sptep, spte & ~PT_DIRTY_MASK);');
    expect(fix('mmu.c', '*sptep = SHADOW_NONPRESENT_VALUE')).toBe('Use __update_clear_spte_slow() (atomic xchg) => __update_clear_spte_slow(sptep, SHADOW_NONPRESENT_VALUE);');
  });

  it('uses kvm_tdp_mmu_write_spte_atomic in the TDP MMU', () => {
    expect(fix('tdp_mmu.c', '__kvm_tdp_mmu_write_spte(iter->sptep, 0)')).toBe('Use kvm_tdp_mmu_write_spte_atomic() (atomic xchg) => kvm_tdp_mmu_write_spte_atomic(iter->sptep, 0);');
    expect(fix('tdp_mmu.c', 'WRITE_ONCE(*iter->sptep, 0)')).toBe('Use kvm_tdp_mmu_write_spte_atomic() (atomic xchg) => kvm_tdp_mmu_write_spte_atomic(iter->sptep, 0);');
    expect(fix('tdp_iter.c', '*sptep = new_spte')).toBe('Use kvm_tdp_mmu_write_spte_atomic() (atomic xchg) => kvm_tdp_mmu_write_spte_atomic(sptep, new_spte);');
  });

  it('offers nothing where the replacement is not mechanical', () => {
    expect(fix('mmu.c', 'mmu_spte_clear_no_track(sptep)')).toBeNull();
    expect(fix('mmu.c', '*sptep |= PT_WRITABLE_MASK')).toBeNull();
    expect(fix('mmu.c', 'sptep[0] = 0')).toBeNull();
    expect(fix('mmu.c', 'mmu_spte_update(sptep, 0)')).toBeNull();
  });

  it('fixes the findings the analyzer makes', async () => {
    const text = `
static void zap_leaf_spte(struct kvm *kvm, u64 *sptep)
{
	u64 old;

	write_lock(&kvm->mmu_lock);
	old = *sptep;
	if (is_shadow_present_pte(old))
		__update_clear_spte_fast(sptep, SHADOW_NONPRESENT_VALUE);
	write_unlock(&kvm->mmu_lock);
}
`;
    const file = 'arch/x86/kvm/mmu/mmu.c';
    const { diags, recheck } = await diagnosticsOf(file, text);
    const d = diags.find((x) => x.code === 'spte-nonatomic')!;
    expect(d).toBeDefined();
    const [a] = semanticCodeActions(URI, file, text, [d]);
    expect(a).toMatchObject({ title: 'Use __update_clear_spte_slow() (atomic xchg)', kind: 'quickfix', diagnostics: [d] });
    const fixed = apply(text, a.edit!.changes![URI]);
    expect(fixed).toContain('\t\t__update_clear_spte_slow(sptep, SHADOW_NONPRESENT_VALUE);\n');
    expect(recheck(fixed).filter((x) => x.code === 'spte-nonatomic')).toEqual([]);
  });
});

describe('robustness', () => {
  it('never throws on garbage diagnostics or text', () => {
    const junk = [
      { code: 'lock-requires', message: 'x', range: { start: { line: 99, character: 5 }, end: { line: 0, character: 0 } }, data: { fn: 'f', lock: 'kvm->lock' } },
      { code: 'spte-nonatomic', message: 'x', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 4 } } },
      { code: 'rwlock-mode', message: 'x', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 4 } }, data: 'nonsense' },
      null,
    ] as unknown as Diagnostic[];
    for (const text of ['', '{{{{', 'static void f(struct kvm *kvm) { f( ', '\0\x01ELF']) {
      expect(() => semanticCodeActions(URI, 'mmu.c', text, junk)).not.toThrow();
    }
  });
});

// ---- through the language server, as an editor drives it ------------------------------------

const REPO = path.resolve(__dirname, '../..');

describe('quick fix end to end (kvm-locklint-lsp --stdio)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let conn: MessageConnection | undefined;

  afterAll(() => {
    conn?.dispose();
    if (child && child.exitCode === null) child.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('offers the assertion for a lock-requires finding; applying it clears the finding', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-locklint-fix-'));
    // The server bundled from the current sources into the temp dir (the shared dist/ is left alone).
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    await build({
      absWorkingDir: REPO,
      entryPoints: ['server/lsp/main.ts'],
      outfile: path.join(bin, 'server.js'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'silent',
      alias: { 'web-tree-sitter': './node_modules/web-tree-sitter/tree-sitter.cjs' },
    });
    for (const w of ['node_modules/web-tree-sitter/tree-sitter.wasm', 'node_modules/tree-sitter-c/tree-sitter-c.wasm']) {
      fs.copyFileSync(path.join(REPO, w), path.join(bin, path.basename(w)));
    }
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, 'kvm'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'kvm/helpers.c'), HELPERS);
    const text = `
static int set_nx_huge_pages_unlocked(struct kvm *kvm, int on)
{
	int r = 0;

	zap_all_fast(kvm);
	return r;
}
`;
    const file = path.join(tree, 'kvm/fix.c');
    fs.writeFileSync(file, text);
    const uri = pathToFileURL(file).href;

    child = spawn(process.execPath, [path.join(bin, 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d)));
    const c = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    conn = c;
    const published = new Map<string, Diagnostic[]>();
    const waiters: (() => void)[] = [];
    c.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) => {
      published.set(p.uri, p.diagnostics);
      waiters.splice(0).forEach((w) => w());
    });
    c.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => ({})));
    c.onRequest('window/workDoneProgress/create', () => null);
    c.onRequest('client/registerCapability', () => null);
    c.listen();
    const until = <T>(what: string, test: () => T | undefined): Promise<T> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${stderr.slice(-1000)}`)), 20_000);
        const check = (): void => {
          const v = test();
          if (v) {
            clearTimeout(timer);
            resolve(v);
          } else waiters.push(check);
        };
        check();
      });

    await c.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(tree).href,
      workspaceFolders: [{ uri: pathToFileURL(tree).href, name: 'tree' }],
      capabilities: { workspace: { configuration: true }, textDocument: { publishDiagnostics: { relatedInformation: true } } },
    });
    await c.sendNotification('initialized', {});
    await c.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
    const d = await until('the lock-requires finding', () => published.get(uri)?.find((x) => x.code === 'lock-requires'));

    const actions = await c.sendRequest<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: d.range, context: { diagnostics: [d] } });
    expect(actions.map((a) => a.title)).toEqual(['Suppress lock-requires on this line', 'Add lockdep_assert_held(&kvm->slots_lock) to set_nx_huge_pages_unlocked()']);
    const fix = actions[1];
    expect(fix).toMatchObject({ kind: 'quickfix', isPreferred: true });
    const fixed = apply(text, fix.edit!.changes![uri]);
    expect(fixed).toContain('\tint r = 0;\n\n\tlockdep_assert_held(&kvm->slots_lock);\n\n\tzap_all_fast(kvm);');

    await c.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: fixed }] });
    await until('the finding to go away', () => (published.get(uri) && !published.get(uri)!.some((x) => x.code === 'lock-requires') ? true : undefined));
  }, 60_000);
});
