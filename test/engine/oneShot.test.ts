/**
 * A one-shot workspace (the command line's) keeps no record for re-checks: its findings must be
 * those of an ordinary workspace, and an analyze() after a change must still give what a fresh
 * analysis gives (it starts from scratch).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';
import { collectCFiles } from '../../server/cli/files';

const EXAMPLES = path.resolve(__dirname, '../../examples');
const rules = builtinRules();

function full(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values()) for (const f of list) out.push(JSON.stringify(f));
  return out.sort();
}

describe('a one-shot workspace', () => {
  it('finds what an ordinary workspace finds, also after a change', async () => {
    const texts = new Map(collectCFiles([EXAMPLES]).map((f) => [path.relative(EXAMPLES, f), fs.readFileSync(f, 'utf8')]));
    const once = await createWorkspace({ rules, oneShot: true });
    const ordinary = await createWorkspace({ rules });
    for (const [p, t] of texts) {
      once.setFile(p, t);
      ordinary.setFile(p, t);
    }
    const first = full(once.analyze().findings);
    expect(first.length).toBeGreaterThan(5);
    expect(first).toEqual(full(ordinary.analyze().findings));

    // kvm->lock taken under kvm->slots_lock in x86.c (the documented order is the reverse), in both.
    const file = [...texts.keys()].find((p) => p.endsWith('x86/kvm/x86.c'))!;
    const lines = texts.get(file)!.split('\n');
    const at = lines.findIndex((l) => l === '\tmutex_lock(&kvm->slots_lock);');
    expect(at).toBeGreaterThan(0);
    lines.splice(at + 1, 0, '\tmutex_lock(&kvm->lock);', '\tmutex_unlock(&kvm->lock);');
    once.setFile(file, lines.join('\n'));
    ordinary.setFile(file, lines.join('\n'));
    const second = full(once.analyze().findings);
    expect(second).not.toEqual(first);
    expect(second).toEqual(full(ordinary.analyze().findings));

    // A callee in another file stops taking kvm->lock: its callers' findings go (a cross-file change).
    const pit = [...texts.keys()].find((p) => p.endsWith('x86/kvm/i8254.c'))!;
    const pitText = texts.get(pit)!.replace(/\tmutex_lock\(&kvm->lock\);\n/g, '').replace(/\t*mutex_unlock\(&kvm->lock\);\n/g, '');
    once.setFile(pit, pitText);
    ordinary.setFile(pit, pitText);
    const third = full(once.analyze().findings);
    expect(third.filter((f) => f.includes('"lock-order"')).length).toBeLessThan(second.filter((f) => f.includes('"lock-order"')).length);
    expect(third).toEqual(full(ordinary.analyze().findings));

    // A callee starts sleeping before it drops its caller's spinlock: the caller's finding comes
    // from the callee's derived value (which a one-shot workspace does not track, so it starts over).
    const ioapic = [...texts.keys()].find((p) => p.endsWith('x86/kvm/ioapic.c'))!;
    const ioapicText = texts.get(ioapic)!.replace('\tspin_unlock(&ioapic->lock);\n', '\tmsleep(1);\n\tspin_unlock(&ioapic->lock);\n');
    expect(ioapicText).not.toEqual(texts.get(ioapic));
    once.setFile(ioapic, ioapicText);
    ordinary.setFile(ioapic, ioapicText);
    const fourth = full(once.analyze().findings);
    expect(fourth.filter((f) => f.includes('"sleep-in-atomic"')).length).toBeGreaterThan(third.filter((f) => f.includes('"sleep-in-atomic"')).length);
    expect(fourth).toEqual(full(ordinary.analyze().findings));
  });
});
