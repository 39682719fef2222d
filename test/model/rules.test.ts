/**
 * The locking document of every kernel version is read exactly: order edges, lock entries and the
 * other rule families, with the document's own line numbers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLockingDoc } from '../../model/rules';
import type { RuleModel } from '../../model/rules';

const SHARED = path.resolve(__dirname, '../../../shared');
const DOCS = path.join(SHARED, 'kvm-docs');

function read(name: string): RuleModel {
  return parseLockingDoc(fs.readFileSync(path.join(DOCS, name), 'utf8'), name);
}
const edges = (m: RuleModel) => m.orders.map((o) => [o.outer, o.inner, o.arch, o.line]);
const locks = (m: RuleModel) => m.locks.map((l) => [l.name, l.type, l.arch, l.line]);

/** 4.14 to 5.10 state the same five edges; only the first line moves (rst has a 3-line header). */
function classicEdges(first: number) {
  return [
    ['kvm->lock', 'vcpu->mutex', 'any', first],
    ['kvm->lock', 'kvm->slots_lock', 'any', first + 2],
    ['kvm->lock', 'kvm->irq_lock', 'any', first + 2],
    ['kvm->slots_lock', 'kvm->irq_lock', 'any', first + 4],
    ['vcpu->mutex', 'kvm->arch.hyperv.hv_lock', 'x86', first + 7],
  ];
}

function classicLocks(first: number, kvmLockType = 'mutex') {
  return [
    ['kvm_lock', kvmLockType, 'any', first],
    ['kvm_count_lock', 'raw_spinlock_t', 'any', first + 5],
    ['kvm_arch::tsc_write_lock', 'raw_spinlock', 'x86', first + 12],
    ['kvm->mmu_lock', 'spinlock_t', 'any', first + 19],
    ['kvm->srcu', 'srcu lock', 'any', first + 25],
    ['blocked_vcpu_on_cpu_lock', 'spinlock_t', 'x86', first + 36],
  ];
}

function expectNoNewerFamilies(m: RuleModel) {
  expect(m.srcu).toEqual([]);
  expect(m.notifier).toEqual([]);
  expect(m.mustAlsoHold).toEqual([]);
  expect(m.typeNotes).toEqual([]);
  expect(m.sameClassNesting).toEqual([]);
}

describe.skipIf(!fs.existsSync(DOCS))('locking document, every version', () => {
  it('3.x txt: orders "(to be written)", five lock entries', () => {
    const m = read('locking-3.x.txt');
    expect(m.format).toBe('txt-3.x');
    expect(m.origin).toBe('document');
    expect(m.ordersToBeWritten).toBe(true);
    expect(m.orders).toEqual([]);
    expect(m.leaf).toBeNull();
    expect(locks(m)).toEqual(classicLocks(134, 'spinlock_t').slice(0, 5));
    expectNoNewerFamilies(m);
    expect(m.warnings).toEqual([]);
    const srcu = m.locks[4];
    expect(srcu.protects).toEqual(['kvm->memslots', 'kvm->buses']);
    expect(srcu.comment).toMatch(/^The srcu read lock must be held .* if it is needed by multiple functions\.$/);
    expect(m.locks[3].protects).toEqual(['shadow page/shadow tlb entry']); // "-shadow" bullet without a space
  });

  it('4.14 txt: five edges (one per inner lock), x86 paragraph, leaf, six locks', () => {
    const m = read('locking-4.14.txt');
    expect(m.format).toBe('txt');
    expect(m.ordersToBeWritten).toBe(false);
    expect(edges(m)).toEqual(classicEdges(9));
    expect(m.leaf?.line).toBe(18);
    expect(locks(m)).toEqual(classicLocks(169));
    expectNoNewerFamilies(m);
    expect(m.warnings).toEqual([]);
    expect(m.locks[2].protects).toEqual(['kvm_arch::{last_tsc_write,last_tsc_nsec,last_tsc_offset}', 'tsc offset in vmcb']);
    expect(m.locks[1].comment).toBe("'raw' because hardware enabling/disabling must be atomic /wrt migration.");
    expect(m.locks[5].protects).toEqual(['blocked_vcpu_on_cpu']);
  });

  it('5.4 txt (space-aligned fields) reads like 4.14', () => {
    const m = read('locking-5.4.txt');
    expect(m.format).toBe('txt');
    expect(edges(m)).toEqual(classicEdges(9));
    expect(m.leaf?.line).toBe(18);
    expect(locks(m)).toEqual(classicLocks(169));
    expect(m.warnings).toEqual([]);
  });

  it('5.5 rst (:Name: fields, spaces) and 5.10 rst (:Name: fields, tabs)', () => {
    const a = read('locking-5.5.rst');
    const b = read('locking-5.10.rst');
    expect(a.format).toBe('rst-fields');
    expect(b.format).toBe('rst-fields');
    expect(edges(a)).toEqual(classicEdges(12));
    expect(edges(b)).toEqual(classicEdges(12));
    expect(a.leaf?.line).toBe(21);
    expect(b.leaf?.line).toBe(21);
    expect(locks(a)).toEqual(classicLocks(197));
    expect(locks(b)).toEqual(classicLocks(196));
    expectNoNewerFamilies(a);
    expectNoNewerFamilies(b);
    expect(a.warnings).toEqual([]);
    expect(b.warnings).toEqual([]);
    expect(b.locks.map((l) => [l.protects, l.comment])).toEqual(a.locks.map((l) => [l.protects, l.comment]));
  });

  /** 6.12 and 2025 differ by three order lines (the plane bullet) and five reference lines. */
  const modern = (off: number, refOff: number) => ({
    edges: [
      ['cpus_read_lock()', 'kvm_lock', 'any', 12],
      ['kvm_usage_lock', 'cpus_read_lock()', 'any', 14],
      ['kvm->lock', 'vcpu->mutex', 'any', 16],
      ['kvm->lock', 'kvm->slots_lock', 'any', 18],
      ['kvm->lock', 'kvm->irq_lock', 'any', 18],
      ['kvm->slots_lock', 'kvm->irq_lock', 'any', 20],
      ['vcpu->mutex', 'kvm->arch.hyperv.hv_lock', 'x86', 53 + off],
      ['vcpu->mutex', 'kvm->arch.xen.xen_lock', 'x86', 53 + off],
    ],
    locks: [
      ['kvm_lock', 'mutex', 'any', 233 + refOff],
      ['kvm_usage_lock', 'mutex', 'any', 240 + refOff],
      ['kvm->mn_invalidate_lock', 'spinlock_t', 'any', 250 + refOff],
      ['kvm_arch::tsc_write_lock', 'raw_spinlock_t', 'x86', 257 + refOff],
      ['kvm->mmu_lock', 'spinlock_t or rwlock_t', 'any', 266 + refOff],
      ['kvm->srcu', 'srcu lock', 'any', 273 + refOff],
      ['kvm->slots_arch_lock', 'mutex', 'any (only needed on x86 though)', 285 + refOff],
      ['wakeup_vcpus_on_cpu_lock', 'spinlock_t', 'x86', 294 + refOff],
      ['vendor_module_lock', 'mutex', 'x86', 307 + refOff],
    ],
  });

  function expectModernFamilies(m: RuleModel, off: number) {
    expect(m.notifier).toEqual([
      { forbidden: ['kvm->slots_lock', 'kvm->slots_arch_lock'], line: 23, text: expect.stringMatching(/^kvm->mn_active_invalidate_count ensures/) },
    ]);
    expect(m.srcu).toHaveLength(1);
    const s = m.srcu[0];
    expect([s.domain, s.syncUnder, s.forbiddenInside, s.allowedInside, s.line, s.allowedLine]).toEqual([
      'kvm->srcu',
      ['kvm->lock', 'vcpu->mutex', 'kvm->slots_lock'],
      ['kvm->lock', 'vcpu->mutex', 'kvm->slots_lock'],
      ['kvm->slots_arch_lock'],
      38 + off,
      46 + off,
    ]);
    expect(m.mustAlsoHold.map((r) => [r.lock, r.mustHold, r.arch, r.line])).toEqual([
      ['kvm->arch.tdp_mmu_pages_lock', 'kvm->arch.mmu_lock', 'x86', 55 + off],
      ['kvm->arch.mmu_unsync_pages_lock', 'kvm->arch.mmu_lock', 'x86', 55 + off],
    ]);
    expect(m.typeNotes).toEqual([{ lock: 'kvm->arch.mmu_lock', type: 'rwlock', arch: 'x86', line: 55 + off }]);
    expect(m.leaf?.line).toBe(59 + off);
  }

  it('6.12 rst (``name`` headings): eight edges incl. cpus_read_lock(), SRCU, notifier, must-also-hold, leaf', () => {
    const m = read('locking-6.12.rst');
    const want = modern(0, 0);
    expect(m.format).toBe('rst-headings');
    expect(edges(m)).toEqual(want.edges);
    expect(locks(m)).toEqual(want.locks);
    expectModernFamilies(m, 0);
    expect(m.sameClassNesting).toEqual([]);
    expect(m.warnings).toEqual([]);
    // the example code block after "::" is not a rule: slots_lock is never an inner of srcu here
    expect(m.orders.some((o) => o.outer === 'kvm->srcu' || o.inner === 'kvm->srcu')).toBe(false);
    const usage = m.locks[1];
    expect(usage.protects).toEqual(['kvm_usage_count', 'hardware virtualization enable/disable']);
    expect(usage.comment).toBe(
      'Exists to allow taking cpus_read_lock() while kvm_usage_count is protected, which simplifies the virtualization enabling logic.',
    );
    expect(m.locks[2].protects).toEqual(['mn_active_invalidate_count', 'mn_memslots_update_rcuwait']);
    expect(m.locks[8].comment).toMatch(/^Exists because using kvm_lock leads to deadlock\. .* updating static calls\.$/);
  });

  it('2025 rst: the 6.12 rules plus the same-class plane nesting of vcpu->mutex', () => {
    const m = read('locking-kvm-2025.rst');
    const want = modern(3, 5);
    expect(m.format).toBe('rst-headings');
    expect(edges(m)).toEqual(want.edges);
    expect(locks(m)).toEqual(want.locks);
    expectModernFamilies(m, 3);
    expect(m.sameClassNesting).toEqual([
      {
        lock: 'vcpu->mutex',
        outerQualifier: 'plane 0',
        innerQualifier: 'the same id and another plane',
        condition: 'VMs have multiple planes',
        arch: 'any',
        line: 29,
        text: 'when VMs have multiple planes, vcpu->mutex for plane 0 can taken outside vcpu->mutex for the same id and another plane',
      },
    ]);
    // never an A -> A edge
    expect(m.orders.some((o) => o.outer === o.inner)).toBe(false);
    expect(m.warnings).toEqual([]);
  });

  it('order texts are the bullets, whitespace folded', () => {
    const m = read('locking-6.12.rst');
    expect(m.orders[5].text).toBe('kvm->slots_lock is taken outside kvm->irq_lock, though acquiring them together is quite rare.');
    expect(read('locking-4.14.txt').orders[4].text).toBe('On x86, vcpu->mutex is taken outside kvm->arch.hyperv.hv_lock.');
  });
});

describe('locking document, forms between the versions of ../shared', () => {
  it('reads "Unlike Y, X is released before synchronize_srcu(&D)" (5.13-5.19) as Y forbidden and X allowed inside D', () => {
    // Our own text in the shape of the 5.1x bullet.
    const doc = [
      'KVM Lock Overview',
      '=================',
      '',
      '1. Acquisition Orders',
      '---------------------',
      '',
      '- kvm->lock is taken outside vcpu->mutex',
      '',
      '- Unlike kvm->slots_lock, kvm->slots_arch_lock is released before',
      '  synchronize_srcu(&kvm->srcu).  So only the latter may nest in a',
      '  read-side section of kvm->srcu.',
      '',
    ].join('\n');
    const m = parseLockingDoc(doc, 'locking.rst');
    expect(m.srcu.map((s) => [s.domain, s.syncUnder, s.forbiddenInside, s.allowedInside, s.line, s.allowedLine])).toEqual([
      ['kvm->srcu', ['kvm->slots_lock'], ['kvm->slots_lock'], ['kvm->slots_arch_lock'], 9, 9],
    ]);
    expect(m.warnings.filter((w) => /could not read/.test(w))).toEqual([]);
  });
});
