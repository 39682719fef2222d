/**
 * A handler runs in the context of the callee it is passed to (Summary.paramContexts): when an
 * edit changes what that callee holds around its call through the parameter, the findings at the
 * callers that pass handlers must follow, in both directions, as a fresh analysis would give.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';

const rules = builtinRules();

// Our own C in KVM's idioms.
const CALLERS = `
static void frob_reroute(struct kvm_vcpu *vcpu)
{
	mutex_lock(&vcpu->mutex);
	vcpu->frobbed = 1;
	mutex_unlock(&vcpu->mutex);
}

void frob_update(struct kvm *kvm)
{
	frob_walk(kvm, frob_reroute);
}
`;

/** The walker holds `lock` (a spinlock, a mutex of the documented order, or nothing) around the handler. */
const walker = (lock: 'spin' | 'slots' | 'none') => {
  const take = lock === 'spin' ? 'spin_lock(&kvm->irqfds.lock);' : lock === 'slots' ? 'mutex_lock(&kvm->slots_lock);' : '';
  const drop = lock === 'spin' ? 'spin_unlock(&kvm->irqfds.lock);' : lock === 'slots' ? 'mutex_unlock(&kvm->slots_lock);' : '';
  return `
void frob_walk(struct kvm *kvm, void (*visit)(struct kvm_vcpu *vcpu))
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	${take}
	kvm_for_each_vcpu(i, vcpu, kvm)
		visit(vcpu);
	${drop}
}
`;
};

function atCallers(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values()) for (const f of list) if (f.file.endsWith('callers.c')) out.push(`${f.range.start.line} ${f.code}`);
  return out.sort();
}

async function fresh(w: string): Promise<string[]> {
  const ws = await createWorkspace({ rules });
  ws.setFile('arch/x86/kvm/callers.c', CALLERS);
  ws.setFile('arch/x86/kvm/walker.c', w);
  return atCallers(ws.analyze().findings);
}

describe('handlers judged in the context of the callee they are passed to', () => {
  it('follows the walker through edits of what it holds around the handler', async () => {
    const ws = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/callers.c', CALLERS);
    ws.setFile('arch/x86/kvm/walker.c', walker('none'));
    expect(atCallers(ws.analyze().findings)).toEqual([]);

    ws.setFile('arch/x86/kvm/walker.c', walker('spin'));
    const underSpin = atCallers(ws.analyze().findings);
    expect(underSpin).toEqual(['10 sleep-in-atomic']);
    expect(underSpin).toEqual(await fresh(walker('spin')));

    ws.setFile('arch/x86/kvm/walker.c', walker('slots'));
    const underSlots = atCallers(ws.analyze().findings);
    expect(underSlots).toEqual(['10 lock-order']);
    expect(underSlots).toEqual(await fresh(walker('slots')));

    ws.setFile('arch/x86/kvm/walker.c', walker('none'));
    expect(atCallers(ws.analyze().findings)).toEqual([]);
  });

  it('follows an IPI handler in another file as it starts or stops sleeping', async () => {
    const caller = `
void frob_update_all(struct kvm *kvm, int cpu)
{
	smp_call_function_single(cpu, frob_ipi, kvm, 1);
}
`;
    const handler = (sleeps: boolean) => `
void frob_ipi(void *info)
{
	struct kvm *kvm = info;

	${sleeps ? 'mutex_lock(&kvm->lock);' : ''}
	kvm->frobbed = 1;
	${sleeps ? 'mutex_unlock(&kvm->lock);' : ''}
}
`;
    const sleeps = (m: Map<string, Finding[]>): string[] =>
      [...m.values()].flat().filter((f) => f.code === 'sleep-in-atomic').map((f) => `${f.file}:${f.range.start.line}`);
    const ws = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/caller.c', caller);
    ws.setFile('arch/x86/kvm/ipi.c', handler(false));
    expect(sleeps(ws.analyze().findings)).toEqual([]);
    ws.setFile('arch/x86/kvm/ipi.c', handler(true));
    expect(sleeps(ws.analyze().findings)).toEqual(['arch/x86/kvm/caller.c:3']);
    ws.setFile('arch/x86/kvm/ipi.c', handler(false));
    expect(sleeps(ws.analyze().findings)).toEqual([]);
  });
});
