/**
 * The command line, run in-process through main() with captured output (and once as the real
 * bin in a child process): formats, exit codes, rules discovery and the rules/race commands.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '../..');
const SHARED = path.resolve(REPO, '../shared');
const ENGINE_READY = fs.existsSync(path.join(REPO, 'server/engine/workspace.ts')) && fs.existsSync(path.join(REPO, 'server/frontend/index.ts'));

/** A small tree: set_memory() takes kvm->lock (in a helper in another file) under kvm->slots_lock. */
const TREE: Record<string, string> = {
  'kvm/kvm_host.h': `struct mutex { int owner; };
struct kvm {
	struct mutex lock;
	struct mutex slots_lock;
	int nr_memslots;
};
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
void kvm_take_vm_lock(struct kvm *kvm);
`,
  'kvm/helpers.c': `#include "kvm_host.h"

void kvm_take_vm_lock(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
	kvm->nr_memslots++;
	mutex_unlock(&kvm->lock);
}
`,
  'kvm/memslots.c': `#include "kvm_host.h"

int set_memory(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	kvm_take_vm_lock(kvm);
	mutex_unlock(&kvm->slots_lock);
	return 0;
}
`,
};

function makeTree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-locklint-cli-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], cwd: string): Promise<Run> {
  const { main } = await import('../../server/cli/main');
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd });
  return { code, stdout, stderr };
}

const trees: string[] = [];
afterAll(() => {
  for (const t of trees) fs.rmSync(t, { recursive: true, force: true });
});

describe('kvm-locklint usage errors', () => {
  it.each([
    [['--bogus']],
    [['--format', 'yaml']],
    [['no/such/dir']],
    [['--rules', 'missing.rst', '.']],
    [['race', 'no-such-race']],
    [['--root', 'not-a-dir']],
  ])('%j exits 2 with a one-line reason on stderr', async (argv) => {
    const r = await cli(argv, os.tmpdir());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^kvm-locklint: .+\n$/);
  });

  it('prints help and version', async () => {
    expect((await cli(['--help'], REPO)).stdout).toContain('--fail-on error|warning|information|never');
    expect((await cli(['--version'], REPO)).stdout).toMatch(/^kvm-locklint \d+\.\d+\.\d+\n$/);
  });
});

describe.skipIf(!ENGINE_READY)('kvm-locklint check', () => {
  let tree: string;
  beforeAll(() => {
    tree = makeTree(TREE);
    trees.push(tree);
  });

  it('reports the lock-order violation as path:line:col: severity: message [code], exit 1', async () => {
    const r = await cli(['kvm', '--jobs', '1'], tree);
    expect(r.code).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.endsWith('[lock-order]'));
    expect(line).toMatch(/^kvm\/memslots\.c:6:\d+: (error|warning): .+ \[lock-order\]$/);
    // The chain: where slots_lock is held, and where kvm->lock is taken in the other file.
    expect(r.stdout).toMatch(/^ {4}kvm\/helpers\.c:5:\d+: note: /m);
    expect(r.stderr).toMatch(/kvm-locklint: 3 files, .*rules: built-in; \d+ ms\n$/);
  });

  it('exits 0 with --fail-on never, and when the code is disabled', async () => {
    expect((await cli(['kvm', '--fail-on', 'never'], tree)).code).toBe(0);
    const off = await cli(['kvm', '--disable', 'lock-order', '--format', 'json'], tree);
    expect(JSON.parse(off.stdout).diagnostics.filter((d: { code: string }) => d.code === 'lock-order')).toEqual([]);
  });

  it('lowers the severity with --severity and --fail-on error lets it pass', async () => {
    const r = await cli(['kvm', '--severity', 'lock-order=information', '--fail-on', 'warning', '--format', 'json'], tree);
    const json = JSON.parse(r.stdout);
    const lockOrder = json.diagnostics.filter((d: { code: string }) => d.code === 'lock-order');
    expect(lockOrder.length).toBeGreaterThan(0);
    expect(lockOrder.every((d: { severity: string }) => d.severity === 'information')).toBe(true);
    if (json.diagnostics.every((d: { severity: string }) => d.severity === 'information')) expect(r.code).toBe(0);
  });

  it('prints the JSON object of DESIGN.md, paths relative to --root', async () => {
    const r = await cli([path.join(tree, 'kvm'), '--format', 'json', '--root', tree], os.tmpdir());
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ tool: 'kvm-locklint', rulesSource: 'built-in', files: 3 });
    expect(json.stats).toEqual({ functions: expect.any(Number), lockEvents: expect.any(Number), ms: expect.any(Number) });
    expect(json.stats.functions).toBeGreaterThanOrEqual(2);
    const d = json.diagnostics.find((x: { code: string }) => x.code === 'lock-order');
    expect(d).toMatchObject({ file: 'kvm/memslots.c', line: 6, severity: expect.stringMatching(/error|warning/) });
    expect(d.column).toBeGreaterThanOrEqual(1);
    expect(d.endLine).toBeGreaterThanOrEqual(d.line);
    expect(d.related.length).toBeGreaterThan(0);
    expect(d.related[0]).toEqual({
      file: expect.any(String),
      line: expect.any(Number),
      column: expect.any(Number),
      endLine: expect.any(Number),
      endColumn: expect.any(Number),
      message: expect.any(String),
    });
  });

  it('prints SARIF 2.1.0 with rules, results and code flows', async () => {
    const r = await cli(['kvm', '--format', 'sarif'], tree);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout);
    expect(sarif).toMatchObject({ version: '2.1.0', $schema: 'https://json.schemastore.org/sarif-2.1.0.json' });
    const run = sarif.runs[0];
    expect(run.tool.driver.rules).toHaveLength(12);
    const res = run.results.find((x: { ruleId: string }) => x.ruleId === 'lock-order');
    expect(run.tool.driver.rules[res.ruleIndex].id).toBe('lock-order');
    expect(res.locations[0].physicalLocation.artifactLocation).toEqual({ uri: 'kvm/memslots.c', uriBaseId: '%SRCROOT%' });
    expect(res.codeFlows[0].threadFlows[0].locations.length).toBeGreaterThan(1);
    expect(Object.values(res.partialFingerprints)[0]).toMatch(/^[0-9a-f]{32}$/);
  });

  it('notes binary and oversized files instead of failing on them', async () => {
    const dir = makeTree({ ...TREE, 'kvm/blob.c': '\x7fELF\x00\x00\x01', 'kvm/huge.h': '/* x */\n'.repeat(400_000) });
    trees.push(dir);
    const r = await cli(['kvm'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kvm\/blob\.c: note: skipped: binary content/);
    expect(r.stderr).toMatch(/kvm\/huge\.h: note: skipped: .*limit/);
  });

  it("judges a tree by its own locking document, found by walking up", async () => {
    const doc = `KVM Lock Overview
=================

1. Acquisition Orders
---------------------

The acquisition orders for mutexes are as follows:

- kvm->lock is taken outside kvm->slots_lock
`;
    const dir = makeTree({ ...TREE, 'Documentation/virt/kvm/locking.rst': doc });
    trees.push(dir);
    const json = JSON.parse((await cli(['kvm', '--format', 'json'], dir)).stdout);
    expect(json.rulesSource).toBe('Documentation/virt/kvm/locking.rst');
    expect(json.diagnostics.some((d: { code: string }) => d.code === 'lock-order')).toBe(true);
  });

  it('falls back to the built-in rules on a malformed document and says so', async () => {
    const dir = makeTree({ ...TREE, 'Documentation/virt/kvm/locking.rst': '<html>not a locking document</html>\n' });
    trees.push(dir);
    const r = await cli(['kvm', '--format', 'json'], dir);
    const json = JSON.parse(r.stdout);
    expect(json.rulesSource).toBe('built-in');
    expect(json.rulesWarnings.join(' ')).toMatch(/built-in rules instead of/);
    expect(r.stderr).toMatch(/note: rules: /);
    const text = await cli(['kvm'], dir);
    expect(text.stderr).toMatch(/kvm-locklint: note: rules: .*built-in rules instead of/);
    expect(text.stderr).toMatch(/rules: built-in \(Documentation\/virt\/kvm\/locking\.rst unusable\)/);
  });

  it.skipIf(!fs.existsSync(SHARED))('takes --rules FILE of another version', async () => {
    const doc = path.join(SHARED, 'kvm-docs', 'locking-4.14.txt');
    const json = JSON.parse((await cli(['kvm', '--rules', doc, '--format', 'json'], tree)).stdout);
    expect(json.rulesSource).toMatch(/locking-4\.14\.txt$/);
    expect(json.rulesWarnings).toEqual(expect.any(Array));
  });
});

describe('kvm-locklint rules', () => {
  it('prints the built-in rule model as JSON outside a kernel tree', async () => {
    const r = await cli(['rules', '--format', 'json'], os.tmpdir());
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.source).toBe('built-in');
    expect(json.locks.length).toBeGreaterThan(5);
    expect(Object.keys(json.locks[0]).sort()).toEqual(expect.arrayContaining(['arch', 'comment', 'line', 'name', 'protects', 'type']));
    expect(json.orders.some((o: { outer: string; inner: string }) => o.outer === 'kvm->lock' && o.inner === 'vcpu->mutex')).toBe(true);
    expect(Object.keys(json.orders[0])).toEqual(expect.arrayContaining(['outer', 'inner', 'arch', 'line']));
  });

  it.skipIf(!fs.existsSync(SHARED))('prints the rules of a given document with its lines', async () => {
    const doc = path.join(SHARED, 'kvm-docs', 'locking-6.12.rst');
    const r = await cli(['rules', '--rules', doc, '--format', 'json'], REPO);
    const json = JSON.parse(r.stdout);
    expect(json.source).toBe(doc);
    expect(json.orders.every((o: { line: number }) => o.line > 0)).toBe(true);
    expect(json.locks.some((l: { name: string }) => l.name === 'kvm->mmu_lock')).toBe(true);
    const text = await cli(['rules', '--rules', doc], REPO);
    expect(text.stdout).toContain('kvm->slots_lock');
  });
});

describe('kvm-locklint race', () => {
  it('lists the scenarios, one per line: id and title', async () => {
    const r = await cli(['race', '--list'], REPO);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.some((l) => /^lost-dirty-bit\s+\S/.test(l))).toBe(true);
  });

  it('replays a race as DESIGN.md JSON: a counterexample when buggy, none when fixed', async () => {
    const buggy = JSON.parse((await cli(['race', 'lost-dirty-bit', '--format', 'json'], REPO)).stdout);
    expect(buggy).toMatchObject({ id: 'lost-dirty-bit', variant: 'buggy', statesExplored: expect.any(Number), interleavings: expect.any(Number) });
    expect(buggy.violations).toBeGreaterThan(0);
    expect(buggy.counterexample[0]).toMatchObject({ actor: expect.any(String), step: expect.any(String) });
    const fixed = JSON.parse((await cli(['race', 'lost-dirty-bit', '--variant', 'fixed', '--format', 'json'], REPO)).stdout);
    expect(fixed).toMatchObject({ variant: 'fixed', violations: 0, counterexample: null });
  });
});

describe.skipIf(!ENGINE_READY)('the installed bin (child process, worker threads)', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(REPO, 'dist/cli.js')) || !fs.existsSync(path.join(REPO, 'dist/worker.js'))) {
      execFileSync(process.execPath, [path.join(REPO, 'scripts/build.mjs')], { cwd: REPO });
    }
  });

  it('lints a tree with worker threads and gives the same findings as in-process', async () => {
    // Enough files for the pool to start workers.
    const files: Record<string, string> = { ...TREE };
    for (let i = 0; i < 14; i++) files[`kvm/extra${i}.c`] = `#include "kvm_host.h"\nint extra${i}(struct kvm *kvm)\n{\n\treturn kvm->nr_memslots + ${i};\n}\n`;
    const dir = makeTree(files);
    trees.push(dir);
    const bin = path.join(REPO, 'bin/kvm-locklint.js');
    const pooled = spawnSync(process.execPath, [bin, 'kvm', '--format', 'json', '--jobs', '2'], { cwd: dir, encoding: 'utf8' });
    expect(pooled.status, pooled.stderr).toBe(1);
    const inProcess = await cli(['kvm', '--format', 'json', '--jobs', '1'], dir);
    const strip = (s: string) => JSON.parse(s).diagnostics;
    expect(strip(pooled.stdout)).toEqual(strip(inProcess.stdout));
    expect(JSON.parse(pooled.stdout).files).toBe(17);

    const bad = spawnSync(process.execPath, [bin, '--jobs', 'many'], { cwd: dir, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
