/**
 * A callee that returns with interrupts on changes its callers' state after the call
 * (Summary.enablesIrqs, part of the flow signature): an edit of the callee alone must re-judge
 * the caller, as a fresh analysis would.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import { createWorkspace } from '../../server/engine/workspace';
import { codeFindings, freshCodeFindings } from '../support/codeFindings';

// Our own C in KVM's idioms.
const callee = (enables: boolean) => `
void demo_handle_external_intr(struct kvm_vcpu *vcpu)
{
	vcpu->arch.pending_events = 0;
${enables ? '\tlocal_irq_enable();\n' : ''}}
`;

const CALLER = `
int demo_vcpu_enter_guest(struct kvm_vcpu *vcpu)
{
	local_irq_disable();
	demo_handle_external_intr(vcpu);
	cond_resched();
	return 0;
}
`;

const sleeps = (m: Parameters<typeof codeFindings>[0]) => codeFindings(m, 'sleep-in-atomic');

describe('interrupts turned on by a callee, re-checked', () => {
  it('follows the callee as it starts and stops turning interrupts on', async () => {
    const ws = await createWorkspace({ rules: builtinRules() });
    ws.setFile('arch/x86/kvm/vmx.c', callee(true));
    ws.setFile('arch/x86/kvm/x86.c', CALLER);
    expect(sleeps(ws.analyze().findings)).toEqual([]);

    ws.setFile('arch/x86/kvm/vmx.c', callee(false));
    const found = sleeps(ws.analyze().findings);
    expect(found).toEqual(['arch/x86/kvm/x86.c:6']);
    expect(await freshCodeFindings({ 'arch/x86/kvm/vmx.c': callee(false), 'arch/x86/kvm/x86.c': CALLER }, 'sleep-in-atomic')).toEqual(found);

    ws.setFile('arch/x86/kvm/vmx.c', callee(true));
    expect(sleeps(ws.analyze().findings)).toEqual([]);
  });
});
