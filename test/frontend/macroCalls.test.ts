/**
 * Names called in `#define` bodies: their callers are the macro's users, which the analysis does
 * not see (it does not expand macros), so checks that judge functions nobody calls leave them be.
 * Fixture: test/fixtures/lock-requires/macro-iterator.c.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import { readExports, readMacroCalls } from '../../server/frontend/decl';
import { createWorkspace } from '../../server/engine/workspace';

describe('names called in #define bodies', () => {
  it('reads the body over continuation lines, not the macro name, its parameters or C keywords', () => {
    const text = [
      '#define for_each_root(_kvm, _root) \\',
      '\tfor (_root = next_root(_kvm, NULL); _root; \\',
      '\t     _root = next_root(_kvm, _root)) \\',
      '\t\tif (!root_valid(_root)) {} else',
      '#define KVM_MMU_LOCK(kvm) write_lock(&(kvm)->mmu_lock)\r',
      '#define NO_ARGS 1',
      'int after(void) { return not_a_macro(1); }',
    ].join('\n');
    expect(readMacroCalls(text).sort()).toEqual(['next_root', 'root_valid', 'write_lock']);
    expect(readMacroCalls('int x;')).toEqual([]);
  });

  it('reads the functions a file exports to other modules', () => {
    const text = 'int a(void) { return 0; }\nEXPORT_SYMBOL_GPL(a);\nEXPORT_SYMBOL( b );\nEXPORT_SYMBOL_FOR_KVM_INTERNAL(c);\n/* EXPORT_SYMBOL */\n';
    expect(readExports(text)).toEqual(['a', 'b', 'c']);
    expect(readExports('int x;')).toEqual([]);
  });

  it('follows an edit that removes the only macro calling a helper', async () => {
    const helper = `
static void put_root(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->mmu_lock);
}

static int next_root(struct kvm *kvm, int prev)
{
	put_root(kvm);
	return prev + 1;
}
`;
    const macro = '#define for_each_root(kvm, i) for (i = next_root(kvm, 0); i < 4; i = next_root(kvm, i))\n';
    const requires = (m: Map<string, { code: string; functionName?: string }[]>) =>
      [...m.values()].flat().filter((f) => f.code === 'lock-requires').map((f) => f.functionName);
    const ws = await createWorkspace({ rules: builtinRules() });
    ws.setFile('arch/x86/kvm/mmu/roots.c', macro + helper);
    expect(requires(ws.analyze().findings)).toEqual([]);
    ws.setFile('arch/x86/kvm/mmu/roots.c', helper);
    expect(requires(ws.analyze().findings)).toEqual(['next_root']);
    ws.setFile('arch/x86/kvm/mmu/roots.c', macro + helper);
    expect(requires(ws.analyze().findings)).toEqual([]);
  });
});
