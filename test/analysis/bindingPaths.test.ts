/**
 * Functions stored through a path (`vcpu->arch.mmu->get_pdptr = f`) or a local pointer
 * initialised from one (`struct kvm_mmu *context = &vcpu->arch.root_mmu; context->page_fault = f`):
 * the front end records the local's declared type, or the path for the workspace to type, and a
 * call through `vcpu->arch.mmu` reaches them next to the bindings made through a typed parameter.
 * Fixture: test/fixtures/lock-order/ops-bound-through-paths.c (with the layouts of kvm_mini.h).
 */
import { describe, expect, it } from 'vitest';
import { ClassResolver } from '../../server/analysis/classes';
import { buildIndex, callTargets } from '../../server/analysis/index';
import type { CallOp, FileFacts } from '../../server/frontend/facts';
import { facts, useFrontend } from '../frontend/helpers';

useFrontend();

/** No struct layouts: as in a tree analysed without its headers. */
const HANDLERS = `
static int shadow_pf(struct kvm_vcpu *vcpu, u64 gpa) { return 0; }
static int tdp_pf(struct kvm_vcpu *vcpu, u64 gpa) { return 1; }
static int nested_pf(struct kvm_vcpu *vcpu, u64 gpa) { return 2; }
static void init_shadow(struct kvm_mmu *context) { context->page_fault = shadow_pf; }
static void init_tdp(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu *context = &vcpu->arch.root_mmu;

	context->page_fault = tdp_pf;
}
static void init_nested(struct kvm_vcpu *vcpu) { vcpu->arch.mmu->page_fault = nested_pf; }
int fault(struct kvm_vcpu *vcpu, u64 gpa) { return vcpu->arch.mmu->page_fault(vcpu, gpa); }
int fault_typed(struct kvm_mmu *mmu, struct kvm_vcpu *vcpu) { return mmu->page_fault(vcpu, 0); }
`;

/** Another struct type binding a field of the same name. */
const WALKER = `
struct walker_ops { int (*page_fault)(struct kvm_vcpu *vcpu, u64 gpa); };
static int walker_pf(struct kvm_vcpu *vcpu, u64 gpa) { return 3; }
static const struct walker_ops walker = { .page_fault = walker_pf };
`;

function targets(files: FileFacts[], caller: string): string[] {
  const index = buildIndex(files);
  const fn = files.flatMap((f) => f.functions).find((x) => x.name === caller)!;
  const call = fn.blocks.flatMap((b) => b.ops).find((o): o is CallOp => o.k === 'call' && !!o.indirect)!;
  return callTargets(index, new ClassResolver(index), call).sort();
}

describe('bindings made through paths', () => {
  it('front end: a local pointer gives its declared type, a path is kept for the workspace', () => {
    const f = facts(HANDLERS);
    const of = (func: string) => f.bindings.find((b) => b.func === func)!;
    expect(of('shadow_pf')).toMatchObject({ structType: 'kvm_mmu' });
    expect(of('tdp_pf')).toMatchObject({ structType: 'kvm_mmu' });
    expect(of('tdp_pf').obj).toBeUndefined();
    expect(of('nested_pf').structType).toBeUndefined();
    expect(of('nested_pf').obj).toMatchObject({ text: 'vcpu->arch.mmu', fields: ['arch', 'mmu'] });
  });

  it('without layouts, a path binding counts for the one struct type that binds the field', () => {
    const f = facts(HANDLERS);
    expect(targets([f], 'fault_typed')).toEqual(['nested_pf', 'shadow_pf', 'tdp_pf']);
    expect(targets([f], 'fault')).toEqual(['nested_pf', 'shadow_pf', 'tdp_pf']);
  });

  it('without layouts, a path binding is left out when another struct type binds the field too', () => {
    const f = facts(HANDLERS + WALKER);
    expect(targets([f], 'fault_typed')).toEqual(['shadow_pf', 'tdp_pf']);
  });

  it('with layouts, a path binding counts for the struct its path types to', () => {
    const layouts = facts(`
struct kvm_mmu { int (*page_fault)(struct kvm_vcpu *vcpu, u64 gpa); };
struct kvm_vcpu_arch { struct kvm_mmu *mmu; struct kvm_mmu root_mmu; };
struct kvm_vcpu { struct kvm_vcpu_arch arch; };
`, 'kvm_host.h');
    const f = facts(HANDLERS + WALKER);
    expect(targets([layouts, f], 'fault_typed')).toEqual(['nested_pf', 'shadow_pf', 'tdp_pf']);
    expect(targets([layouts, f], 'fault')).toEqual(['nested_pf', 'shadow_pf', 'tdp_pf']);
  });
});
