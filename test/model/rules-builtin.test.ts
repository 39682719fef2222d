/**
 * Built-in rules (trees without a document), document names -> analyzer references, and the
 * `kvm-locklint rules` output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  builtinRules,
  docLockKind,
  docLockRef,
  parseLockingDoc,
  rulesToJson,
  rulesToText,
} from '../../model/rules';

const SHARED = path.resolve(__dirname, '../../../shared');
const DOC2025 = path.join(SHARED, 'kvm-docs', 'locking-kvm-2025.rst');

describe('built-in rules', () => {
  const b = builtinRules();

  it('are marked built-in, with line 0 everywhere', () => {
    expect([b.source, b.origin, b.format, b.ordersToBeWritten]).toEqual(['built-in', 'builtin', 'builtin', false]);
    const lines = [
      ...b.orders.map((o) => o.line),
      ...b.locks.map((l) => l.line),
      ...b.srcu.map((s) => s.line),
      ...b.notifier.map((n) => n.line),
      ...b.mustAlsoHold.map((r) => r.line),
      ...b.typeNotes.map((t) => t.line),
      b.leaf?.line,
    ];
    expect(new Set(lines)).toEqual(new Set([0]));
    expect(b.warnings).toEqual([]);
  });

  it('include the newest documented addition: vcpu->mutex outside both slots locks', () => {
    const pairs = b.orders.map((o) => `${o.outer} > ${o.inner} ${o.arch}`);
    expect(pairs).toContain('vcpu->mutex > kvm->slots_lock any');
    expect(pairs).toContain('vcpu->mutex > kvm->slots_arch_lock any');
    expect(b.orders).toHaveLength(10);
  });

  it('every lock name resolves to an analyzer reference', () => {
    const names = new Set<string>();
    for (const o of b.orders) names.add(o.outer).add(o.inner);
    for (const l of b.locks) names.add(l.name);
    for (const s of b.srcu) for (const n of [...s.syncUnder, ...s.allowedInside]) names.add(n);
    for (const r of b.mustAlsoHold) names.add(r.lock).add(r.mustHold);
    for (const n of names) expect(docLockRef(n), n).not.toBeNull();
  });

  it('a fresh copy each call', () => {
    const a = builtinRules();
    a.orders.length = 0;
    expect(builtinRules().orders).toHaveLength(10);
  });

  it.skipIf(!fs.existsSync(DOC2025))('contain everything the 2025 document states', () => {
    const d = parseLockingDoc(fs.readFileSync(DOC2025, 'utf8'), '2025');
    const key = (o: { outer: string; inner: string; arch: string }) => `${o.outer} > ${o.inner} @${o.arch}`;
    const builtinOrders = new Set(b.orders.map(key));
    for (const o of d.orders) expect(builtinOrders.has(key(o)), key(o)).toBe(true);
    expect(b.orders.length).toBe(d.orders.length + 2);

    expect(b.locks.map((l) => [l.name, l.type, l.arch])).toEqual(d.locks.map((l) => [l.name, l.type, l.arch]));
    expect(b.srcu.map((s) => [s.domain, s.syncUnder, s.forbiddenInside, s.allowedInside])).toEqual(
      d.srcu.map((s) => [s.domain, s.syncUnder, s.forbiddenInside, s.allowedInside]),
    );
    expect(b.notifier.map((n) => n.forbidden)).toEqual(d.notifier.map((n) => n.forbidden));
    expect(b.mustAlsoHold.map((r) => [r.lock, r.mustHold, r.arch])).toEqual(d.mustAlsoHold.map((r) => [r.lock, r.mustHold, r.arch]));
    expect(b.typeNotes.map((t) => [t.lock, t.type, t.arch])).toEqual(d.typeNotes.map((t) => [t.lock, t.type, t.arch]));
    expect(b.leaf).not.toBeNull();
    expect(b.sameClassNesting?.map((n) => [n.lock, n.outerQualifier, n.condition])).toEqual(
      d.sameClassNesting?.map((n) => [n.lock, n.outerQualifier, n.condition]),
    );
  });

  it.skipIf(!fs.existsSync(DOC2025))('are worded in the project\'s own words, not copied from the document', () => {
    const doc = fs.readFileSync(DOC2025, 'utf8').replace(/\s+/g, ' ');
    const texts = [
      ...b.orders.map((o) => o.text),
      ...b.locks.flatMap((l) => [l.comment, ...l.protects]),
      ...b.srcu.flatMap((s) => [s.text, s.allowedText ?? '']),
      ...b.notifier.map((n) => n.text),
      ...b.mustAlsoHold.map((r) => r.text),
      b.leaf?.text ?? '',
    ];
    for (const t of texts) {
      // No sentence of eight or more words appears verbatim in the document.
      const words = t.split(/\s+/);
      for (let i = 0; i + 8 <= words.length; i++) {
        const run = words.slice(i, i + 8).join(' ');
        expect(doc.includes(run), run).toBe(false);
      }
    }
  });
});

describe('document lock names -> analyzer references', () => {
  it('follows the conventions', () => {
    expect(docLockRef('kvm->slots_lock')).toEqual({ kind: 'member', baseType: 'kvm', fields: ['slots_lock'] });
    expect(docLockRef('kvm->arch.hyperv.hv_lock')).toEqual({ kind: 'member', baseType: 'kvm', fields: ['arch', 'hyperv', 'hv_lock'] });
    expect(docLockRef('kvm->arch.xen.xen_lock')).toEqual({ kind: 'member', baseType: 'kvm', fields: ['arch', 'xen', 'xen_lock'] });
    expect(docLockRef('vcpu->mutex')).toEqual({ kind: 'member', baseType: 'kvm_vcpu', fields: ['mutex'] });
    expect(docLockRef('kvm_arch::tsc_write_lock')).toEqual({ kind: 'member', baseType: 'kvm_arch', fields: ['tsc_write_lock'] });
    expect(docLockRef('kvm->srcu')).toEqual({ kind: 'member', baseType: 'kvm', fields: ['srcu'] });
    expect(docLockRef('kvm->arch.tdp_mmu_pages_lock')).toEqual({ kind: 'member', baseType: 'kvm', fields: ['arch', 'tdp_mmu_pages_lock'] });
  });

  it('corrects the document\'s kvm->arch.mmu_lock to the real field kvm->mmu_lock', () => {
    expect(docLockRef('kvm->arch.mmu_lock')).toEqual({ kind: 'member', baseType: 'kvm', fields: ['mmu_lock'] });
    expect(docLockRef('kvm->mmu_lock')).toEqual(docLockRef('kvm->arch.mmu_lock'));
  });

  it('globals and the CPU-hotplug pseudo lock', () => {
    for (const g of ['kvm_lock', 'kvm_usage_lock', 'vendor_module_lock', 'wakeup_vcpus_on_cpu_lock', 'blocked_vcpu_on_cpu_lock', 'kvm_count_lock']) {
      expect(docLockRef(g)).toEqual({ kind: 'global', name: g });
    }
    expect(docLockRef('cpus_read_lock()')).toEqual({ kind: 'pseudo', name: 'cpu_hotplug_lock' });
    expect(docLockRef('cpu_hotplug_lock')).toEqual({ kind: 'pseudo', name: 'cpu_hotplug_lock' });
    expect(docLockRef('``kvm_lock``')).toEqual({ kind: 'global', name: 'kvm_lock' });
  });

  it('rejects what is not a lock name', () => {
    for (const bad of ['', 'the same id and another plane', 'kvm->', '->x', 'a::', '123']) expect(docLockRef(bad), bad).toBeNull();
  });

  it('lock kinds from Reference types', () => {
    expect(docLockKind('mutex')).toBe('mutex');
    expect(docLockKind('spinlock_t')).toBe('spinlock');
    expect(docLockKind('raw_spinlock_t')).toBe('raw_spinlock');
    expect(docLockKind('raw_spinlock')).toBe('raw_spinlock');
    expect(docLockKind('srcu lock')).toBe('srcu');
    expect(docLockKind('spinlock_t or rwlock_t')).toBe('rwlock');
    expect(docLockKind('rw_semaphore')).toBe('rwsem');
    expect(docLockKind('a teapot')).toBe('unknown');
    // the document says spinlock_t; the code has a per-CPU raw_spinlock_t
    expect(docLockKind('spinlock_t', 'wakeup_vcpus_on_cpu_lock')).toBe('raw_spinlock');
  });
});

describe('rules output', () => {
  it('JSON has DESIGN.md\'s shape, keys in order', () => {
    const j = rulesToJson(builtinRules());
    expect(Object.keys(j).slice(0, 3)).toEqual(['source', 'locks', 'orders']);
    expect(Object.keys(j.locks[0])).toEqual(['name', 'type', 'arch', 'protects', 'comment', 'line']);
    expect(Object.keys(j.orders[0])).toEqual(['outer', 'inner', 'arch', 'line']);
    for (const k of ['srcu', 'notifier', 'mustAlsoHold', 'leaf', 'typeNotes', 'sameClassNesting', 'warnings', 'format', 'origin']) {
      expect(j).toHaveProperty(k);
    }
    expect(j.orders[0]).toEqual({ outer: 'cpus_read_lock()', inner: 'kvm_lock', arch: 'any', line: 0 });
    // round-trips through JSON unchanged (no undefined, no cycles)
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });

  it('text lists orders as "outer -> inner  (arch, line N)", then the other families, then the locks', () => {
    const doc = [
      'Acquisition Orders',
      '------------------',
      '',
      '- a->lock is taken outside b->lock',
      '',
      'On x86, b->lock is taken outside c_lock.',
      '',
      'Reference',
      '---------',
      '',
      'Name:\tc_lock',
      'Type:\tmutex',
      'Arch:\tx86',
      'Protects:\t- stuff',
    ].join('\n');
    const t = rulesToText(parseLockingDoc(doc, 'locking.txt'));
    expect(t).toMatch(/^Rules from locking\.txt \(format txt\)/);
    expect(t).toMatch(/ {2}a->lock -> b->lock\s+\(any, line 4\)/);
    expect(t).toMatch(/ {2}b->lock -> c_lock\s+\(x86, line 6\)/);
    expect(t).toMatch(/Locks:\n {2}c_lock\s+mutex\s+x86\s+\(line 11\)\n {6}protects: stuff/);
    const bt = rulesToText(builtinRules());
    expect(bt).toMatch(/vcpu->mutex -> kvm->slots_lock\s+\(any, built-in\)/);
    expect(bt.indexOf('Acquisition order')).toBeLessThan(bt.indexOf('SRCU:'));
    expect(bt.indexOf('SRCU:')).toBeLessThan(bt.indexOf('Locks:'));
  });

  it('a document with warnings lists them', () => {
    const t = rulesToText(parseLockingDoc('', 'empty.rst'));
    expect(t).toMatch(/Warnings:\n {2}the document is empty/);
  });
});
