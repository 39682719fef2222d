/**
 * The SPTE checks keep their whole-workspace state (shared contexts, flush wrappers) across
 * analyses and update it from the functions that changed: an edited workspace must report what a
 * fresh analysis of the same files reports, including findings whose reason lies in another
 * function of another file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';
import { REPO, SPTE_CODES } from './spteTestUtil';

const HEADER = 'test/fixtures/include/kvm_mini.h';
const HEADER_TEXT = fs.readFileSync(path.join(REPO, HEADER), 'utf8');
const rules = builtinRules();

// Our own C in KVM's idioms. The writers live in one file, their callers in another.
const WRITERS = `#include "kvm_mini.h"
static void fix_spte(u64 *sptep, u64 new_spte)
{
	*sptep = new_spte;
}

static bool protect_spte(u64 *sptep)
{
	return mmu_spte_update(sptep, *sptep & ~PT_WRITABLE_MASK);
}
`;

const WALK = `#include "kvm_mini.h"
int fast_pf(struct kvm_vcpu *vcpu, u64 *sptep)
{
	u64 spte;

	walk_shadow_page_lockless_begin(vcpu);
	spte = mmu_spte_get_lockless(sptep);
	if (is_mmu_writable_spte(spte))
		fix_spte(sptep, spte | PT_WRITABLE_MASK);
	walk_shadow_page_lockless_end(vcpu);
	return 0;
}

void wrprot(struct kvm *kvm, u64 *sptep)
{
	write_lock(&kvm->mmu_lock);
	protect_spte(sptep);
	write_unlock(&kvm->mmu_lock);
}
`;

// The same callers without the lockless walk (fix_spte is then called under no shared context)
// and using protect_spte's result.
const NO_WALK = WALK.replace('\twalk_shadow_page_lockless_begin(vcpu);\n', '')
  .replace('\twalk_shadow_page_lockless_end(vcpu);\n', '')
  .replace('\tprotect_spte(sptep);', '\tif (protect_spte(sptep))\n\t\tkvm_flush_remote_tlbs(kvm);');

/** Findings as comparable text, related locations included. */
function flat(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values())
    for (const f of list) {
      if (!SPTE_CODES.includes(f.code)) continue;
      const rel = f.related.map((r) => `${r.file}:${r.range.start.line}:${r.range.start.column} ${r.message}`).join(' | ');
      out.push(`${f.file}:${f.range.start.line}:${f.range.start.column} ${f.code} ${f.message} [${rel}]`);
    }
  return out.sort();
}

async function fresh(files: Record<string, string>): Promise<string[]> {
  const ws = await createWorkspace({ rules });
  ws.setFile(HEADER, HEADER_TEXT);
  for (const [p, t] of Object.entries(files)) ws.setFile(p, t);
  return flat(ws.analyze().findings);
}

describe('SPTE checks, incremental', () => {
  it('a finding appears and disappears with a shared context in another file, as in a fresh analysis', async () => {
    const ws = await createWorkspace({ rules });
    ws.setFile(HEADER, HEADER_TEXT);
    ws.setFile('mmu/writers.c', WRITERS);
    ws.setFile('mmu/walk.c', WALK);
    const steps: Record<string, string>[] = [
      { 'mmu/writers.c': WRITERS, 'mmu/walk.c': WALK },
      // The walk goes away: fix_spte's store is no longer lockless (spte-nonatomic instead), and
      // protect_spte's flush result is used.
      { 'mmu/writers.c': WRITERS, 'mmu/walk.c': NO_WALK },
      { 'mmu/writers.c': WRITERS, 'mmu/walk.c': WALK },
      // Lines inserted above the callers: the chain's positions move.
      { 'mmu/writers.c': WRITERS, 'mmu/walk.c': WALK.replace('int fast_pf', '\n\n/* moved */\nint fast_pf') },
      // ...and above the writers.
      { 'mmu/writers.c': WRITERS.replace('static void fix_spte', '/* moved */\nstatic void fix_spte'), 'mmu/walk.c': WALK },
      // The callers' file goes away, then comes back.
      { 'mmu/writers.c': WRITERS },
      { 'mmu/writers.c': WRITERS, 'mmu/walk.c': WALK },
    ];
    const seen: string[][] = [];
    let current: Record<string, string> = steps[0];
    for (const step of steps) {
      for (const p of Object.keys(current)) if (!(p in step)) ws.removeFile(p);
      for (const [p, t] of Object.entries(step)) if (current[p] !== t) ws.setFile(p, t);
      current = step;
      const got = flat(ws.analyze().findings);
      expect(got).toEqual(await fresh(step));
      seen.push(got);
    }
    // The steps do what they claim.
    const codes = (i: number) => seen[i].map((l) => l.split(' ')[1]).sort();
    expect(codes(0)).toEqual(['spte-lockless-write', 'spte-tlb-flush']);
    expect(seen[0].find((l) => l.includes('spte-lockless-write'))).toMatch(/mmu\/walk\.c:5:\d+ lockless walk begins here \| mmu\/walk\.c:8:\d+ calls fix_spte here/);
    expect(codes(1)).toEqual(['spte-nonatomic']);
    expect(seen[2]).toEqual(seen[0]);
    expect(seen[3].find((l) => l.includes('spte-lockless-write'))).toMatch(/mmu\/walk\.c:8:\d+ lockless walk begins here \| mmu\/walk\.c:11:\d+ calls fix_spte here/);
    expect(seen[4]).not.toEqual(seen[0]);
    expect(codes(5)).toEqual(['spte-nonatomic']);
    expect(seen[6]).toEqual(seen[0]);
  });
});
