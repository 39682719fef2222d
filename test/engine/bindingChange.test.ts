/**
 * A function-pointer binding that comes or goes (`.reset = fn` in an ops table) changes what an
 * indirect call elsewhere resolves to while no function name and no caller's body changes: the
 * edited workspace must report what a fresh analysis of the same texts reports.
 */
import { describe, expect, it } from 'vitest';
import type { Workspace } from '../../server/engine/api';
import { findingLines, miniWorkspace } from '../support/miniWorkspace';

// Our own C in KVM's idioms.
const OPS_TYPE = `struct demo_vcpu_ops {
	int (*reset)(struct kvm_vcpu *vcpu);
	int (*probe)(struct kvm_vcpu *vcpu);
};
`;
const CALLER = `#include "kvm_mini.h"
${OPS_TYPE}
extern struct demo_vcpu_ops *demo_ops;

long demo_vcpu_ioctl(struct kvm_vcpu *vcpu)
{
	long r;

	mutex_lock(&vcpu->mutex);
	r = demo_ops->reset(vcpu);
	mutex_unlock(&vcpu->mutex);
	return r;
}
`;
const impl = (bound: boolean): string => `#include "kvm_mini.h"
${OPS_TYPE}
static int demo_reset_vcpu(struct kvm_vcpu *vcpu)
{
	mutex_lock(&vcpu->kvm->lock);
	mutex_unlock(&vcpu->kvm->lock);
	return 0;
}

static int demo_probe_vcpu(struct kvm_vcpu *vcpu)
{
	return 0;
}

struct demo_vcpu_ops demo_vmx_ops = {
	.probe = demo_probe_vcpu,
${bound ? '\t.reset = demo_reset_vcpu,' : ''}
};
`;

const workspace = miniWorkspace;
const findings = (ws: Workspace): string[] => findingLines(ws.analyze().findings);

describe('an ops-table binding that comes and goes', () => {
  it('makes the lock-order finding through the indirect call appear and disappear as in a fresh analysis', async () => {
    const files = { 'arch/x86/kvm/vcpu.c': CALLER, 'arch/x86/kvm/vmx.c': impl(false) };
    const ws = await workspace(files);
    const before = findings(ws);
    expect(before.filter((f) => f.includes('"lock-order"'))).toEqual([]);

    ws.setFile('arch/x86/kvm/vmx.c', impl(true));
    const bound = findings(ws);
    expect(bound).toEqual(findings(await workspace({ ...files, 'arch/x86/kvm/vmx.c': impl(true) })));
    expect(bound.some((f) => f.includes('"lock-order"') && f.includes('demo_reset_vcpu'))).toBe(true);

    ws.setFile('arch/x86/kvm/vmx.c', impl(false));
    expect(findings(ws)).toEqual(before);
  });

  it('reaches the other definitions of a name too (a second static caller of the same name)', async () => {
    const second = CALLER.replace('long demo_vcpu_ioctl', 'static long demo_vcpu_ioctl');
    const files = { 'arch/x86/kvm/vcpu.c': CALLER, 'arch/x86/kvm/vcpu_compat.c': second, 'arch/x86/kvm/vmx.c': impl(false) };
    const ws = await workspace(files);
    const before = findings(ws);
    expect(before.filter((f) => f.includes('"lock-order"'))).toEqual([]);

    ws.setFile('arch/x86/kvm/vmx.c', impl(true));
    const bound = findings(ws);
    const fresh = findings(await workspace({ ...files, 'arch/x86/kvm/vmx.c': impl(true) }));
    expect(fresh.filter((f) => f.includes('"lock-order"') && f.includes('vcpu_compat.c'))).toHaveLength(1);
    expect(bound).toEqual(fresh);

    ws.setFile('arch/x86/kvm/vmx.c', impl(false));
    expect(findings(ws)).toEqual(before);
  });
});

