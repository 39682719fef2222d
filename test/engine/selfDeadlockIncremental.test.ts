/**
 * lock-cycle's cycles of length one are judged at the caller from what the callee takes: an edit
 * of the callee alone (in another file) must make the finding appear and go, as a fresh analysis
 * of the same files would.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import { createWorkspace } from '../../server/engine/workspace';
import { codeFindings, freshCodeFindings } from '../support/codeFindings';

const rules = builtinRules();

// Our own C in KVM's idioms.
const helper = (locks: boolean) => `
void demo_set_ident_addr(struct kvm *kvm, u64 addr)
{
${locks ? '\tmutex_lock(&kvm->lock);\n' : ''}\tkvm->arch.ident_addr = addr;
${locks ? '\tmutex_unlock(&kvm->lock);\n' : ''}}
`;

const CALLER = `
long demo_vm_ioctl(struct kvm *kvm, u64 addr)
{
	mutex_lock(&kvm->lock);
	demo_set_ident_addr(kvm, addr);
	mutex_unlock(&kvm->lock);
	return 0;
}
`;

const cycles = (m: Parameters<typeof codeFindings>[0]) => codeFindings(m, 'lock-cycle');

describe('lock-cycle of length one, re-checked', () => {
  it('follows the callee as it starts and stops taking the lock its caller holds', async () => {
    const ws = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/ident.c', helper(false));
    ws.setFile('arch/x86/kvm/ioctl.c', CALLER);
    expect(cycles(ws.analyze().findings)).toEqual([]);

    ws.setFile('arch/x86/kvm/ident.c', helper(true));
    const found = cycles(ws.analyze().findings);
    expect(found).toEqual(['arch/x86/kvm/ioctl.c:5']);
    expect(await freshCodeFindings({ 'arch/x86/kvm/ident.c': helper(true), 'arch/x86/kvm/ioctl.c': CALLER }, 'lock-cycle')).toEqual(found);

    ws.setFile('arch/x86/kvm/ident.c', helper(false));
    expect(cycles(ws.analyze().findings)).toEqual([]);
  });
});
