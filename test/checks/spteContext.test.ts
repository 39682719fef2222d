import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findSpteSections } from '../../model/rules/spteSections';
import { guardHolds, isOutParamStore, isUnlinkedTableEntry, predicateBranches, spteOps, targetRoot } from '../../server/checks/spteContext';
import type { FunctionFacts } from '../../server/frontend/facts';
import { initFrontend, parseAndExtract } from '../../server/frontend/index';
import { SHARED } from './spteTestUtil';

function fnOf(code: string, name: string): FunctionFacts {
  const facts = parseAndExtract('t.c', code);
  const fn = facts.functions.find((f) => f.name === name);
  if (!fn) throw new Error(`no ${name}`);
  return fn;
}

describe('SPTE check context', () => {
  beforeAll(async () => {
    await initFrontend();
  });

  it('reads the outcome of a tested call from the CFG: true successor first, through !, || and &&', () => {
    // The checks rely on the front end linking a condition atom's "true" successor first.
    const fn = fnOf(
      `void f(u64 *sptep, u64 old) {
  if (!is_shadow_present_pte(old) || !spte_has_volatile_bits(old))
    fast_path();
  else
    slow_path();
}`,
      'f',
    );
    const br = predicateBranches(fn);
    expect(br.map((b) => b.call.callee)).toEqual(['is_shadow_present_pte', 'spte_has_volatile_bits']);
    const calleeIn = (b: number): string | undefined => {
      const op = fn.blocks[b].ops.find((o) => o.k === 'call');
      return op && op.k === 'call' ? op.callee : undefined;
    };
    const [present, vol] = br;
    // present: true -> go on testing volatility; false -> the fast path.
    expect(present.onTrue).toBe(vol.block);
    expect(calleeIn(present.onFalse)).toBe('fast_path');
    expect(calleeIn(vol.onTrue)).toBe('slow_path');
    expect(calleeIn(vol.onFalse)).toBe('fast_path');
  });

  it('a guard holds only when every path crosses it', () => {
    const fn = fnOf(
      `void f(u64 *sptep, u64 old, int x) {
  if (x)
    goto out;
  if (spte_has_volatile_bits(old))
    return;
  __update_clear_spte_fast(sptep, 0);
out:
  __update_clear_spte_fast(sptep, 1);
}`,
      'f',
    );
    const ops = spteOps(fn);
    const first = ops.find((o) => o.args?.[1] === '0')!;
    const second = ops.find((o) => o.args?.[1] === '1')!;
    expect(guardHolds(fn, first, 'no-volatile-bits')).toBe(true);
    expect(guardHolds(fn, second, 'no-volatile-bits')).toBe(false);
    expect(guardHolds(fn, first, 'not-present')).toBe(false);
  });

  it('classifies targets: unlinked tables, roots, out-parameters', () => {
    expect(isUnlinkedTableEntry('sp->spt[i]')).toBe(true);
    expect(isUnlinkedTableEntry('&sp->spt[index]')).toBe(true);
    expect(isUnlinkedTableEntry('sptep')).toBe(false);
    expect(isUnlinkedTableEntry('desc->sptes[i]')).toBe(false);
    expect(targetRoot('iter->sptep')).toBe('iter');
    expect(targetRoot('&iter')).toBe('iter');
    expect(targetRoot('(u64 *)rmap_head->val')).toBe('rmap_head');

    const fn = fnOf(
      `void f(u64 *spte, u64 *sptep, u64 *other_sptep, u64 v) {
  *spte = v;
  *sptep = 0ull;
  *other_sptep = FROZEN_SPTE;
  mmu_spte_clear_no_track(sptep);
}`,
      'f',
    );
    const stores = spteOps(fn).filter((o) => o.access === 'store');
    expect(stores.map((o) => o.target)).toEqual(['spte', 'sptep', 'other_sptep']);
    // value-named pointer: out-parameter; sptep: also handed to an SPTE helper, so a real SPTE.
    expect(stores.map((o) => isOutParamStore(fn, o))).toEqual([true, false, false]);
  });
});

describe.skipIf(!fs.existsSync(SHARED))('SPTE sections of every locking document', () => {
  const docs = path.join(SHARED, 'kvm-docs');
  for (const name of fs.existsSync(docs) ? fs.readdirSync(docs) : []) {
    it(name, () => {
      const lines = fs.readFileSync(path.join(docs, name), 'utf8').split(/\r?\n/);
      const s = findSpteSections(lines);
      const keys = s.map((x) => x.key);
      expect(keys).toEqual(expect.arrayContaining(['exception', 'fast-page-fault', 'gfn-pfn', 'dirty-bit', 'tlb-flush']));
      for (const x of s) expect(lines[x.line - 1].trim()).toBe(x.title);
      const dirty = s.find((x) => x.key === 'dirty-bit')!;
      expect(dirty.title).toMatch(/Dirty bit tracking/);
      if (name === 'locking-6.12.rst') expect(s.map((x) => `${x.key}:${x.line}`)).toContain('dirty-bit:148');
    });
  }
});

describe('findSpteSections on damaged input', () => {
  it('finds nothing in unrelated or binary text and never throws', () => {
    expect(findSpteSections([])).toEqual([]);
    expect(findSpteSections(['\u0000\u0001', 'x'.repeat(100000), 'Exception'])).toEqual([]);
  });
});
