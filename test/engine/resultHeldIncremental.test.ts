/**
 * A callee that returns holding a lock only for one kind of result (NetEffect.heldWhen, part of
 * the summary signature) lets its callers split on the result: an edit of the callee alone that
 * blurs its result must re-judge the caller, as a fresh analysis would.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import { createWorkspace } from '../../server/engine/workspace';
import { codeFindings, freshCodeFindings } from '../support/codeFindings';

// Our own C in KVM's idioms: 0 with vcpu->mutex held, or -EINTR (or, edited, an unknown value).
const callee = (known: boolean) => `
int demo_vcpu_load(struct kvm_vcpu *vcpu)
{
	if (mutex_lock_killable(&vcpu->mutex))
		return ${known ? '-EINTR' : 'vcpu->arch.last_error'};
	return 0;
}
`;

const CALLERS = `
int demo_vcpu_setup(struct kvm_vcpu *vcpu)
{
	int r = demo_vcpu_load(vcpu);

	if (r)
		return r;
	mutex_unlock(&vcpu->mutex);
	return r;
}

int demo_create_vcpu(struct kvm *kvm, struct kvm_vcpu *vcpu)
{
	int r = demo_vcpu_setup(vcpu);

	if (r)
		return r;
	mutex_lock(&kvm->lock);
	mutex_unlock(&kvm->lock);
	return 0;
}
`;

// With an unknown error result, the setup may return holding vcpu->mutex for all the analysis
// knows, and kvm->lock would be taken inside it.
const inversions = (m: Parameters<typeof codeFindings>[0]) => codeFindings(m, 'lock-order');

describe('a lock held for one kind of result, re-checked', () => {
  it('follows the callee as its error result becomes unknown and known again', async () => {
    const ws = await createWorkspace({ rules: builtinRules() });
    ws.setFile('virt/kvm/load.c', callee(true));
    ws.setFile('virt/kvm/setup.c', CALLERS);
    expect(inversions(ws.analyze().findings)).toEqual([]);

    ws.setFile('virt/kvm/load.c', callee(false));
    const found = inversions(ws.analyze().findings);
    expect(found).toEqual(['virt/kvm/setup.c:18']);
    expect(await freshCodeFindings({ 'virt/kvm/load.c': callee(false), 'virt/kvm/setup.c': CALLERS }, 'lock-order')).toEqual(found);

    ws.setFile('virt/kvm/load.c', callee(true));
    expect(inversions(ws.analyze().findings)).toEqual([]);
  });
});
