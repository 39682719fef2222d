/**
 * Build configurations: files of several architectures judged by one rules source are analysed
 * one architecture at a time (its files plus the generic ones), so that x86 code is never judged
 * through powerpc's definition of a `kvm_arch_*` function, and generic findings are merged.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules/builtin';
import type { Finding } from '../../server/checks/finding';
import { ArchWorkspaces } from '../../server/engine/archWorkspaces';
import { GENERIC, archOf, mergeConfigurationFindings, splitByArch, treeRootOfDoc, unionFindings } from '../../server/engine/configurations';
import { createWorkspace } from '../../server/engine/workspace';
import { defaultFrontend } from '../../server/engine/frontendDefault';
import { runCheck, type CheckReport } from '../../server/cli/check';
import { GENERIC_C, TREE } from '../support/multiArchTree';

function finding(file: string, line: number, message: string, code: Finding['code'] = 'lock-order'): Finding {
  return { code, severity: 'error', file, range: { start: { line, column: 1 }, end: { line, column: 9 } }, message, related: [] };
}

describe('configurations: architecture of a path', () => {
  it('takes the first arch/<name>/ component, relative to the tree root when given', () => {
    expect(archOf('arch/x86/kvm/x86.c')).toBe('x86');
    expect(archOf('/src/linux/arch/powerpc/kvm/book3s.c')).toBe('powerpc');
    expect(archOf('/src/linux/arch/arm64/include/asm/kvm_host.h')).toBe('arm64');
    expect(archOf('C:\\linux\\arch\\s390\\kvm\\kvm-s390.c')).toBe('s390');
    expect(archOf('virt/kvm/kvm_main.c')).toBe(GENERIC);
    expect(archOf('/src/linux/include/linux/kvm_host.h')).toBe(GENERIC);
    expect(archOf('/src/linux/search.c')).toBe(GENERIC);
    expect(archOf('/src/linux/arch/Kconfig')).toBe(GENERIC);
    // A tree that itself lives under some arch/<x>/ folder is judged below its root.
    expect(archOf('/home/arch/old/linux/virt/kvm/kvm_main.c', '/home/arch/old/linux')).toBe(GENERIC);
    expect(archOf('/home/arch/old/linux/arch/riscv/kvm/vm.c', '/home/arch/old/linux/')).toBe('riscv');
    expect(archOf('/home/arch/old/linux/virt/kvm/kvm_main.c')).toBe('old');
  });

  it('gives the arm code that trees before 5.7 kept in virt/kvm/arm/ to arm64', () => {
    expect(archOf('/src/v5.4/virt/kvm/arm/arm.c', '/src/v5.4')).toBe('arm64');
    expect(archOf('virt/kvm/arm/vgic/vgic-init.c')).toBe('arm64');
    expect(archOf('/src/v5.4/virt/kvm/async_pf.c', '/src/v5.4')).toBe(GENERIC);
    expect(archOf('/src/v5.4/virt/kvm/armor.c', '/src/v5.4')).toBe(GENERIC);
  });

  it('finds the tree root of a locking document, and splits files by architecture', () => {
    expect(treeRootOfDoc('/src/linux/Documentation/virt/kvm/locking.rst')).toBe('/src/linux');
    expect(treeRootOfDoc('/src/old/Documentation/virtual/kvm/locking.txt')).toBe('/src/old');
    expect(treeRootOfDoc('/tmp/my-rules.rst')).toBeNull();
    expect(treeRootOfDoc(null)).toBeNull();
    const split = splitByArch(['virt/kvm/a.c', 'arch/x86/kvm/x.c', 'arch/arm64/kvm/y.c', 'arch/x86/kvm/z.c', 'include/k.h']);
    expect([...split.archs]).toEqual([
      ['x86', ['arch/x86/kvm/x.c', 'arch/x86/kvm/z.c']],
      ['arm64', ['arch/arm64/kvm/y.c']],
    ]);
    expect(split.generic).toEqual(['virt/kvm/a.c', 'include/k.h']);
  });

  it('merges: architecture files from their own configuration, generic files as a deduplicated union', () => {
    const shared = finding('virt/kvm/kvm_main.c', 20, 'leak');
    const merged = mergeConfigurationFindings(
      [
        {
          arch: 'x86',
          findings: new Map([
            ['arch/x86/kvm/x86.c', [finding('arch/x86/kvm/x86.c', 3, 'x86 own')]],
            ['virt/kvm/kvm_main.c', [finding('virt/kvm/kvm_main.c', 12, 'x86 only', 'sleep-in-atomic'), shared]],
          ]),
        },
        {
          arch: 'powerpc',
          findings: new Map([
            ['arch/powerpc/kvm/powerpc.c', []],
            ['virt/kvm/kvm_main.c', [{ ...shared, related: [] }, finding('virt/kvm/kvm_main.c', 12, 'ppc only', 'sleep-in-atomic')]],
          ]),
        },
      ],
      (f) => archOf(f),
    );
    expect(merged.get('arch/x86/kvm/x86.c')!.map((f) => f.message)).toEqual(['x86 own']);
    expect(merged.get('arch/powerpc/kvm/powerpc.c')).toEqual([]);
    expect(merged.get('virt/kvm/kvm_main.c')!.map((f) => f.message)).toEqual(['x86 only', 'ppc only', 'leak']);
    // Same message, other code or range: kept apart.
    const other = { ...shared, code: 'lock-imbalance' as const };
    expect(unionFindings([[shared], [shared, other]])).toHaveLength(2);
  });
});

describe('configurations: a multi-architecture tree', () => {
  let dir = '';
  let report: CheckReport;
  const rel = (f: string) => path.relative(dir, f);
  const touches = (f: Finding, file: string) => rel(f.file) === file || f.related.some((r) => rel(r.file) === file) || f.message.includes(path.basename(file));
  const of = (file: string) => report.findings.filter((f) => rel(f.file) === file);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-locklint-archs-'));
    for (const [file, text] of Object.entries(TREE)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    report = await runCheck({ paths: [dir], jobs: 1, createWorkspace: (o) => createWorkspace(o) });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('judges x86 code by x86 definitions only', () => {
    const x86 = of('arch/x86/kvm/x86.c');
    expect(x86.map((f) => [f.code, f.range.start.line + 1])).toEqual([['lock-order', 13]]);
    expect(x86[0].related.map((r) => rel(r.file))).toEqual(['arch/x86/kvm/x86.c', 'arch/x86/kvm/x86.c', 'virt/kvm/kvm_main.c', 'arch/x86/kvm/x86.c']);
    expect(report.findings.filter((f) => touches(f, 'arch/powerpc/kvm/powerpc.c'))).toEqual([]);
  });

  it('judges powerpc code by powerpc definitions only (no sleep through the x86 mutex)', () => {
    expect(of('arch/powerpc/kvm/powerpc.c')).toEqual([]);
  });

  it('reports a generic finding of one configuration, and one of every configuration once', () => {
    const generic = of('virt/kvm/kvm_main.c').map((f) => [f.code, f.range.start.line + 1]);
    expect(generic).toEqual([
      ['sleep-in-atomic', 12],
      ['lock-imbalance', 21],
    ]);
  });

  it('differs from one mixed index (which is what the configurations are for)', async () => {
    const ws = await createWorkspace({ rules: builtinRules() });
    for (const [file, text] of Object.entries(TREE)) ws.setFile(file, text);
    const all = [...ws.analyze().findings.values()].flat();
    const key = (f: Finding, file: string) => `${file}:${f.range.start.line}:${f.code}`;
    const mixedKeys = all.map((f) => key(f, f.file)).sort();
    const configKeys = report.findings.map((f) => key(f, rel(f.file))).sort();
    // One index judges x86_caller through one of the two definitions only (today: powerpc's).
    expect(mixedKeys).not.toEqual(configKeys);
  });

  it('keeps one workspace when the files span a single architecture', async () => {
    const aw = await ArchWorkspaces.create({ rules: builtinRules(), create: (o) => createWorkspace(o) });
    for (const file of ['include/linux/kvm_host.h', 'virt/kvm/kvm_main.c', 'arch/x86/kvm/x86.c']) {
      await aw.prepare(file);
      aw.setFile(file, TREE[file]);
    }
    expect(aw.workspaces).toHaveLength(1);
    expect(aw.architectures).toEqual(['x86']);
    const one = await createWorkspace({ rules: builtinRules() });
    for (const file of ['include/linux/kvm_host.h', 'virt/kvm/kvm_main.c', 'arch/x86/kvm/x86.c']) one.setFile(file, TREE[file]);
    expect(aw.analyze().findings).toEqual(one.analyze().findings);
  });

  it('splits an editor session when a second architecture arrives, and edits of generic files reach every configuration', async () => {
    const frontend = defaultFrontend();
    const aw = await ArchWorkspaces.create({ rules: builtinRules(), create: (o) => createWorkspace(o), open: (f, t) => frontend.open(f, t) });
    for (const file of ['include/linux/kvm_host.h', 'virt/kvm/kvm_main.c', 'arch/x86/kvm/x86.c', 'arch/powerpc/kvm/powerpc.c']) {
      await aw.prepare(file);
      aw.setFile(file, TREE[file]);
    }
    expect(aw.architectures).toEqual(['x86', 'powerpc']);
    const codes = (file: string) => (aw.analyze().findings.get(file) ?? []).map((f) => `${f.code}:${f.range.start.line + 1}`);
    expect(codes('virt/kvm/kvm_main.c')).toEqual(['sleep-in-atomic:12', 'lock-imbalance:21']);
    expect(codes('arch/powerpc/kvm/powerpc.c')).toEqual([]);
    // An incremental edit of the generic file: the leak is fixed everywhere, once.
    const lines = GENERIC_C.split('\n');
    const ret = lines.findIndex((l) => l.includes('return -1;'));
    const fixed = lines.map((l, i) => (i === ret ? '\t\treturn mutex_unlock(&kvm->slots_lock), -1;' : l)).join('\n');
    const change = { range: { start: { line: ret, column: 0 }, end: { line: ret, column: lines[ret].length } }, text: '\t\treturn mutex_unlock(&kvm->slots_lock), -1;' };
    aw.setFile('virt/kvm/kvm_main.c', fixed, [change]);
    for (const per of aw.findingsPerConfiguration('virt/kvm/kvm_main.c')) {
      expect(per.findings.filter((f) => f.code === 'lock-imbalance')).toEqual([]);
    }
    expect(aw.hasFile('virt/kvm/kvm_main.c')).toBe(true);
    const stats = aw.analyze().stats;
    expect(stats.files).toBe(4);
    expect(codes('virt/kvm/kvm_main.c')).toEqual(['sleep-in-atomic:12']);
    // Without x86, no configuration sleeps under gen_lock.
    aw.removeFile('arch/x86/kvm/x86.c');
    expect(codes('virt/kvm/kvm_main.c')).toEqual([]);
    expect(aw.hover('virt/kvm/kvm_main.c', { line: 10, column: 13 })?.contents ?? '').toContain('gen_lock');
  });
});
