import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import { createWorkspace } from '../../server/engine/workspace';

const SRC = `struct kvm { rwlock_t mmu_lock; struct mutex slots_lock; };

void zap_range(struct kvm *kvm, u64 *sptep, u64 spte)
{
	u64 old;

	mutex_lock(&kvm->slots_lock);
	read_lock(&kvm->mmu_lock);
	old = spte & shadow_accessed_mask;
	read_unlock(&kvm->mmu_lock);
	old = old + 1;
	mutex_unlock(&kvm->slots_lock);
	old = old + 2;
}
`;

describe('hover anywhere in a function', () => {
  it('shows the locks held at that point, with their modes', async () => {
    const ws = await createWorkspace({ rules: builtinRules() });
    ws.setFile('virt/kvm/zap.c', SRC);
    ws.analyze();
    // On `old` in `old = spte & ...` (line 8): slots_lock and mmu_lock held for read.
    const inside = ws.hover('virt/kvm/zap.c', { line: 8, column: 2 });
    expect(inside?.contents).toContain('Locks held here');
    expect(inside?.contents).toContain('kvm->slots_lock (mutex');
    expect(inside?.contents).toMatch(/mmu_lock \(read, rwlock/);
    // After the read_unlock (line 10): only slots_lock.
    const after = ws.hover('virt/kvm/zap.c', { line: 10, column: 2 });
    expect(after?.contents).toContain('kvm->slots_lock');
    expect(after?.contents).not.toContain('mmu_lock');
    // Nothing held (line 12): no hover at all.
    expect(ws.hover('virt/kvm/zap.c', { line: 12, column: 2 })).toBeNull();
  });

  it('shows the SPTE model contract on a mask', async () => {
    const ws = await createWorkspace({ rules: builtinRules() });
    ws.setFile('arch/x86/kvm/mmu/zap.c', SRC);
    ws.analyze();
    const col = SRC.split('\n')[8].indexOf('shadow_accessed_mask') + 3;
    const h = ws.hover('arch/x86/kvm/mmu/zap.c', { line: 8, column: col });
    expect(h?.contents).toContain('shadow_accessed_mask');
    expect(h?.contents).toMatch(/SPTE bit\/mask/);
  });
});
