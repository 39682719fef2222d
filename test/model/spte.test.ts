import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allSpteCombinations,
  decodeSpte,
  encodeSpte,
  formatSpte,
  fromEptBits,
  makeSpte,
  NONPRESENT_SPTE,
  type Spte,
  toEptBits,
} from '../../model/spte/bits';
import {
  atomicRuleForDocument,
  canFastPfMakeWritable,
  checkWritableInvariants,
  flushNeededOnUpdate,
  hasVolatileBits,
  isAccessed,
  isAccessTracked,
  isDirty,
  isMmuWritable,
  isShadowPresent,
  isWritable,
  markForAccessTrack,
  needsAtomicUpdate,
  preFastPfStableSpte,
  restoreAccessTrack,
} from '../../model/spte/predicates';
import { fastPageFaultFix, hardwareAccess } from '../../model/spte/transitions';

const SHARED = path.resolve(__dirname, '../../../shared');

/*
 * Independent formulation: the kernel's way of asking, on the 64-bit EPT value with masks
 * (Linux 6.12 layout), written here from the bit table in kvm-facts.md section 5.
 */
const bit = (n: number) => 1n << BigInt(n);
const M = {
  R: bit(0),
  W: bit(1),
  X: bit(2),
  RWX: 7n,
  A: bit(8),
  D: bit(9),
  PRESENT: bit(11),
  AD_TYPE: 3n << 52n,
  AD_DISABLED: 1n << 52n,
  HOST_W: bit(57),
  MMU_W: bit(58),
};
const has = (v: bigint, m: bigint) => (v & m) !== 0n;
const k = {
  present: (v: bigint) => has(v, M.PRESENT),
  adEnabled: (v: bigint) => (v & M.AD_TYPE) !== M.AD_DISABLED,
  tracked: (v: bigint) => k.present(v) && !k.adEnabled(v) && (v & M.RWX) === 0n,
  accessed: (v: bigint) => (k.adEnabled(v) ? has(v, M.A) : !k.tracked(v)),
  dirty: (v: bigint) => (k.adEnabled(v) ? has(v, M.D) : has(v, M.W)),
  volatile612: (v: bigint) =>
    k.present(v) &&
    ((!has(v, M.W) && has(v, M.MMU_W)) ||
      k.tracked(v) ||
      (k.adEnabled(v) && (!has(v, M.A) || (has(v, M.W) && !has(v, M.D))))),
  needsAtomic2025: (v: bigint) =>
    k.present(v) && ((!has(v, M.W) && has(v, M.MMU_W)) || !k.adEnabled(v) || (has(v, M.W) && !has(v, M.D))),
  fastPfMayChange: (v: bigint) => k.present(v) && ((has(v, M.MMU_W) && !has(v, M.W)) || k.tracked(v)),
  writableOk: (v: bigint) =>
    !k.present(v) || ((!has(v, M.MMU_W) || has(v, M.HOST_W)) && (!has(v, M.W) || has(v, M.MMU_W))),
};

const ALL = allSpteCombinations(5);

describe('SPTE encoding', () => {
  it('enumerates every combination of the 11 flags exactly once', () => {
    expect(ALL).toHaveLength(2048);
    expect(new Set(ALL.map(encodeSpte)).size).toBe(2048);
  });

  it('round-trips through the model code and the 64-bit EPT layout', () => {
    for (const s of ALL) {
      expect(decodeSpte(encodeSpte(s))).toEqual(s);
      expect(fromEptBits(toEptBits(s))).toEqual(s);
    }
  });

  it('puts the fields where Linux 6.12 puts them in an EPT entry', () => {
    const s = makeSpte({ w: true, mmuWritable: true, hostWritable: true, accessed: true, pfn: 0x1234 });
    const v = toEptBits(s);
    expect(has(v, M.W) && has(v, M.MMU_W) && has(v, M.HOST_W) && has(v, M.A) && has(v, M.PRESENT)).toBe(true);
    expect(has(v, M.D) || has(v, M.R)).toBe(false);
    expect((v >> 12n) & 0xffffn).toBe(0x1234n);
    expect(toEptBits(NONPRESENT_SPTE)).toBe(1n << 63n);
  });

  it('formats SPTEs compactly for the race tables', () => {
    expect(formatSpte(makeSpte({ r: true, x: true, mmuWritable: true, hostWritable: true, accessed: true, pfn: 1 }))).toBe(
      'r-x W=0 H=1 M=1 A=1 D=0 pfn1',
    );
    expect(formatSpte(NONPRESENT_SPTE)).toBe('non-present');
    expect(formatSpte(makeSpte({ adDisabled: true, savedR: true, savedX: true, pfn: 2 }))).toContain('tracked(saved r-x)');
  });
});

describe('SPTE predicates against an independent mask formulation (all 2048 combinations)', () => {
  const cases: [string, (s: Spte) => boolean, (v: bigint) => boolean][] = [
    ['isShadowPresent', isShadowPresent, k.present],
    ['isWritable', isWritable, (v) => has(v, M.W)],
    ['isMmuWritable', isMmuWritable, (v) => has(v, M.MMU_W)],
    ['isAccessTracked', isAccessTracked, k.tracked],
    ['isAccessed', (s) => s.present && isAccessed(s), (v) => k.present(v) && k.accessed(v)],
    ['isDirty', (s) => s.present && isDirty(s), (v) => k.present(v) && k.dirty(v)],
    ['hasVolatileBits', hasVolatileBits, k.volatile612],
    ["needsAtomicUpdate 'any-volatile'", (s) => needsAtomicUpdate(s, 'any-volatile'), k.volatile612],
    ["needsAtomicUpdate 'dirty-matters'", (s) => needsAtomicUpdate(s, 'dirty-matters'), k.needsAtomic2025],
    ['canFastPfMakeWritable', canFastPfMakeWritable, k.fastPfMayChange],
    ['checkWritableInvariants', (s) => checkWritableInvariants(s).length === 0, k.writableOk],
  ];
  for (const [name, model, masks] of cases) {
    it(name, () => {
      const mismatches = ALL.filter((s) => model(s) !== masks(toEptBits(s))).map(formatSpte);
      expect(mismatches).toEqual([]);
    });
  }
});

describe('properties the locking document relies on', () => {
  const present = ALL.filter((s) => s.present);

  it('whatever fast page fault may change is updated atomically under both rules', () => {
    for (const s of present.filter(canFastPfMakeWritable)) {
      expect(needsAtomicUpdate(s, 'any-volatile')).toBe(true);
      expect(needsAtomicUpdate(s, 'dirty-matters')).toBe(true);
    }
  });

  it('an SPTE the CPU can still dirty (A/D on, W=1, D=0) is updated atomically under both rules', () => {
    for (const s of present.filter((s) => !s.adDisabled && s.w && !s.dirty)) {
      expect(needsAtomicUpdate(s, 'any-volatile')).toBe(true);
      expect(needsAtomicUpdate(s, 'dirty-matters')).toBe(true);
    }
  });

  it('with A/D enabled, the rules differ exactly on SPTEs whose only volatile bit is a clear Accessed bit', () => {
    for (const s of present.filter((s) => !s.adDisabled)) {
      const older = needsAtomicUpdate(s, 'any-volatile');
      const newer = needsAtomicUpdate(s, 'dirty-matters');
      expect(newer && !older).toBe(false);
      const onlyAccessed = !s.accessed && !(s.w && !s.dirty) && !(s.mmuWritable && !s.w);
      expect(older && !newer).toBe(onlyAccessed);
    }
  });

  it('the newer rule always updates A/D-disabled SPTEs atomically (aging may mark them without mmu_lock)', () => {
    for (const s of present.filter((s) => s.adDisabled)) expect(needsAtomicUpdate(s, 'dirty-matters')).toBe(true);
  });

  it('a non-present SPTE has nothing volatile and needs no flush', () => {
    for (const s of ALL.filter((s) => !s.present)) {
      expect(hasVolatileBits(s)).toBe(false);
      expect(needsAtomicUpdate(s, 'dirty-matters')).toBe(false);
      expect(flushNeededOnUpdate(s, NONPRESENT_SPTE)).toBe(false);
    }
  });
});

describe('hand-checked rows', () => {
  const base = { r: true, x: true, hostWritable: true, pfn: 1 };

  it("locking.rst's Dirty-bit story: W=0, A=1, MMU-writable looked stable to the old code but is volatile", () => {
    const s = makeSpte({ ...base, mmuWritable: true, accessed: true });
    expect(preFastPfStableSpte(s)).toBe(true);
    expect(hasVolatileBits(s)).toBe(true);
    expect(needsAtomicUpdate(s, 'dirty-matters')).toBe(true);
    expect(canFastPfMakeWritable(s)).toBe(true);
  });

  it('writable, dirty, A cleared by aging: volatile in 6.12, plain store allowed by the newer rule', () => {
    const s = makeSpte({ ...base, w: true, mmuWritable: true, dirty: true });
    expect(hasVolatileBits(s)).toBe(true);
    expect(needsAtomicUpdate(s, 'dirty-matters')).toBe(false);
  });

  it('writable, accessed, clean: the CPU may set D, atomic under both rules', () => {
    const s = makeSpte({ ...base, w: true, mmuWritable: true, accessed: true });
    expect(hasVolatileBits(s)).toBe(true);
    expect(needsAtomicUpdate(s, 'dirty-matters')).toBe(true);
  });

  it('read-only host page, A and D set: nothing volatile', () => {
    const s = makeSpte({ r: true, pfn: 1, accessed: true, dirty: true });
    expect(hasVolatileBits(s)).toBe(false);
    expect(needsAtomicUpdate(s, 'dirty-matters')).toBe(false);
  });

  it('the valid Host/MMU/W combinations are 111, 110, 100 and 000', () => {
    const combos: [boolean, boolean, boolean, boolean][] = [
      [true, true, true, true],
      [true, true, false, true],
      [true, false, false, true],
      [false, false, false, true],
      [false, true, false, false],
      [false, false, true, false],
      [false, true, true, false],
      [true, false, true, false],
    ];
    for (const [hostWritable, mmuWritable, w, ok] of combos) {
      const s = makeSpte({ r: true, hostWritable, mmuWritable, w, pfn: 1 });
      expect(checkWritableInvariants(s).length === 0).toBe(ok);
    }
  });

  it('flush is needed when an MMU-writable SPTE becomes non-writable, or A/D goes 1 -> 0', () => {
    const old = makeSpte({ ...base, mmuWritable: true, accessed: true });
    expect(flushNeededOnUpdate(old, { ...old, mmuWritable: false })).toBe(true); // W was 0, but fast PF could have set it
    const ro = makeSpte({ ...base, accessed: true, dirty: true });
    expect(flushNeededOnUpdate(ro, ro)).toBe(false);
    expect(flushNeededOnUpdate(ro, { ...ro, accessed: false })).toBe(true);
    expect(flushNeededOnUpdate(ro, { ...ro, dirty: false })).toBe(true);
    const wr = makeSpte({ ...base, w: true, mmuWritable: true, accessed: true, dirty: true });
    expect(flushNeededOnUpdate(wr, { ...wr, x: false })).toBe(false);
  });
});

describe('access tracking', () => {
  it('marking then restoring an A/D-disabled SPTE gives back R/X but not W', () => {
    for (const s of ALL.filter((s) => s.present && s.adDisabled && !isAccessTracked(s))) {
      const marked = markForAccessTrack(s);
      expect(isAccessTracked(marked)).toBe(true);
      expect(isAccessed(marked)).toBe(false);
      expect(markForAccessTrack(marked)).toEqual(marked);
      expect(restoreAccessTrack(marked)).toEqual({ ...s, w: false, savedR: false, savedX: false });
    }
  });

  it('with A/D enabled, aging only clears Accessed', () => {
    for (const s of ALL.filter((s) => s.present && !s.adDisabled)) {
      expect(markForAccessTrack(s)).toEqual({ ...s, accessed: false });
    }
  });

  it('restore leaves an SPTE that is not access-tracked unchanged', () => {
    for (const s of ALL.filter((s) => !isAccessTracked(s))) expect(restoreAccessTrack(s)).toBe(s);
  });
});

describe('fast page fault and the page walker', () => {
  const tracked = makeSpte({ adDisabled: true, savedR: true, savedX: true, hostWritable: true, mmuWritable: true, pfn: 3 });

  it('a read fault restores an access-tracked SPTE without making it writable', () => {
    expect(fastPageFaultFix(tracked, 'read')).toEqual({ ...tracked, r: true, x: true, savedR: false, savedX: false });
  });

  it('a write fault restores and sets W when MMU-writable', () => {
    expect(fastPageFaultFix(tracked, 'write')).toMatchObject({ r: true, w: true, x: true });
  });

  it('bails on spurious faults, non-present SPTEs and write faults on non-MMU-writable SPTEs', () => {
    const rw = makeSpte({ r: true, w: true, mmuWritable: true, hostWritable: true, pfn: 1 });
    expect(fastPageFaultFix(rw, 'write')).toBeNull();
    expect(fastPageFaultFix(NONPRESENT_SPTE, 'read')).toBeNull();
    expect(fastPageFaultFix(makeSpte({ r: true, hostWritable: true, pfn: 1 }), 'write')).toBeNull();
  });

  it('the CPU sets A on a read, A and D on a write, and faults on a write to a read-only SPTE', () => {
    const s = makeSpte({ r: true, w: true, mmuWritable: true, hostWritable: true, pfn: 1 });
    expect(hardwareAccess(s, 'read')).toMatchObject({ accessed: true, dirty: false });
    expect(hardwareAccess(s, 'write')).toMatchObject({ accessed: true, dirty: true });
    expect(hardwareAccess({ ...s, w: false }, 'write')).toBeNull();
  });
});

describe.skipIf(!fs.existsSync(SHARED))('the rule generation of real locking documents', () => {
  const doc = (name: string) => fs.readFileSync(path.join(SHARED, 'kvm-docs', name), 'utf8');
  it('6.12 and older describe the any-volatile rule', () => {
    for (const name of ['locking-6.12.rst', 'locking-5.10.rst', 'locking-4.14.txt']) {
      expect(atomicRuleForDocument(doc(name))).toBe('any-volatile');
    }
  });
  it('the 2025 document names spte_needs_atomic_update()', () => {
    expect(atomicRuleForDocument(doc('locking-kvm-2025.rst'))).toBe('dirty-matters');
  });
});
