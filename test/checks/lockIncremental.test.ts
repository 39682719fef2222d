/**
 * lock-order, lock-cycle, lock-imbalance and notifier-lock keep results across analyses (per-flow
 * contributions to the lock graph, the callers of each function, the notifier walk). An edit of a
 * callee in one file must make a finding elsewhere appear and disappear exactly as a fresh
 * analysis of the same texts reports it, positions moved by edits above included.
 */
import { describe, expect, it } from 'vitest';
import type { Finding, RuleCode } from '../../server/checks/finding';
import type { Workspace } from '../../server/engine/api';
import { findingLines, miniWorkspace } from '../support/miniWorkspace';

const CODES: RuleCode[] = ['lock-order', 'lock-cycle', 'lock-imbalance', 'notifier-lock'];

const workspace = miniWorkspace;

/** The findings of our codes, every field, in a stable order. */
function findings(ws: Workspace): string[] {
  return findingLines(ws.analyze().findings, CODES);
}

/**
 * Applies each step's texts to one workspace and checks its findings against a fresh workspace
 * of the same texts; returns the findings of every step.
 */
async function replay(initial: Record<string, string>, steps: Record<string, string>[]): Promise<string[][]> {
  const current = { ...initial };
  const ws = await workspace(current);
  const seen = [findings(ws)];
  expect(seen[0]).toEqual(findings(await workspace(current)));
  for (const step of steps) {
    Object.assign(current, step);
    for (const [p, text] of Object.entries(step)) ws.setFile(p, text);
    const got = findings(ws);
    expect(got).toEqual(findings(await workspace(current)));
    seen.push(got);
  }
  return seen;
}

const codesOf = (list: string[]): string[] => list.map((s) => (JSON.parse(s) as Finding).code);
const above = (text: string, n: number): string => '\n'.repeat(n) + text;

// Our own C in KVM's idioms.
const VCPU = `#include "kvm_mini.h"

long demo_vcpu_ioctl(struct kvm_vcpu *vcpu)
{
	long r;

	mutex_lock(&vcpu->mutex);
	r = demo_reset(vcpu);
	mutex_unlock(&vcpu->mutex);
	return r;
}
`;
const RESET = `#include "kvm_mini.h"

long demo_reset(struct kvm_vcpu *vcpu)
{
	vcpu->arch.cr0 = 0;
	return demo_routes(vcpu->kvm);
}
`;
const ROUTES_QUIET = `#include "kvm_mini.h"

long demo_routes(struct kvm *kvm)
{
	kvm->arch.irqchip_split = false;
	return 0;
}
`;
const ROUTES_LOCKING = `#include "kvm_mini.h"

long demo_routes(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
	kvm->arch.irqchip_split = false;
	mutex_unlock(&kvm->lock);
	return 0;
}
`;

const IOAPIC = `#include "kvm_mini.h"

static void demo_route_to_pic(struct kvm_ioapic *ioapic, int irq)
{
	spin_lock(&ioapic->lock);
	ioapic->irr |= 1u << irq;
	demo_pic_raise(ioapic->kvm->arch.vpic, irq);
	spin_unlock(&ioapic->lock);
}

static void demo_pic_ack(struct kvm_pic *s, int irq)
{
	struct kvm_ioapic *ioapic = s->kvm->arch.vioapic;

	spin_lock(&s->lock);
	s->irq_states[irq] = 0;
	spin_lock(&ioapic->lock);
	ioapic->nr_pending--;
	spin_unlock(&ioapic->lock);
	spin_unlock(&s->lock);
}
`;
const PIC_QUIET = `#include "kvm_mini.h"

void demo_pic_raise(struct kvm_pic *s, int irq)
{
	s->irq_states[irq] = 1;
}
`;
const PIC_LOCKING = `#include "kvm_mini.h"

void demo_pic_raise(struct kvm_pic *s, int irq)
{
	spin_lock(&s->lock);
	s->irq_states[irq] = 1;
	spin_unlock(&s->lock);
}
`;

describe('incremental lock-order and lock-cycle', () => {
  it('follows a callee two calls down that starts and stops taking a lock the rules put outside', async () => {
    const files = { 'arch/x86/kvm/vcpu.c': VCPU, 'arch/x86/kvm/reset.c': RESET, 'arch/x86/kvm/routes.c': ROUTES_QUIET };
    const seen = await replay(files, [
      { 'arch/x86/kvm/routes.c': ROUTES_LOCKING },
      { 'arch/x86/kvm/vcpu.c': above(VCPU, 3) },
      { 'arch/x86/kvm/routes.c': above(ROUTES_LOCKING, 2) },
      { 'arch/x86/kvm/reset.c': above(RESET, 4) },
      { 'arch/x86/kvm/routes.c': ROUTES_QUIET },
    ]);
    expect(codesOf(seen[0])).toEqual([]);
    expect(codesOf(seen[1])).toEqual(['lock-order']);
    expect(JSON.parse(seen[2][0]).range.start.line).toBe(JSON.parse(seen[1][0]).range.start.line + 3);
    expect(codesOf(seen[4])).toEqual(['lock-order']);
    expect(codesOf(seen[5])).toEqual([]);
  });

  it('follows a callee in another file that closes and opens a lock cycle', async () => {
    const files = { 'arch/x86/kvm/ioapic.c': IOAPIC, 'arch/x86/kvm/pic.c': PIC_QUIET };
    const seen = await replay(files, [
      { 'arch/x86/kvm/pic.c': PIC_LOCKING },
      { 'arch/x86/kvm/ioapic.c': above(IOAPIC, 2) },
      { 'arch/x86/kvm/pic.c': above(PIC_LOCKING, 5) },
      { 'arch/x86/kvm/pic.c': PIC_QUIET },
      { 'arch/x86/kvm/pic.c': PIC_LOCKING },
    ]);
    expect(codesOf(seen[0])).toEqual([]);
    expect(codesOf(seen[1])).toEqual(['lock-cycle']);
    expect(codesOf(seen[3])).toEqual(['lock-cycle']);
    expect(codesOf(seen[4])).toEqual([]);
    expect(codesOf(seen[5])).toEqual(['lock-cycle']);
  });
});

const GRAB = `#include "kvm_mini.h"

int demo_grab_vm(struct kvm *kvm)
{
	if (!mutex_trylock(&kvm->lock))
		return -EBUSY;
	return 0;
}
`;
const USER_RELEASES = `#include "kvm_mini.h"

int demo_use_vm(struct kvm *kvm)
{
	if (demo_grab_vm(kvm))
		return -EBUSY;
	kvm->arch.nr_mmu_pages = 0;
	mutex_unlock(&kvm->lock);
	return 0;
}
`;
const USER_KEEPS = `#include "kvm_mini.h"

int demo_use_vm(struct kvm *kvm)
{
	if (demo_grab_vm(kvm))
		return -EBUSY;
	kvm->arch.nr_mmu_pages = 0;
	return 0;
}
`;

describe('incremental lock-imbalance', () => {
  it('judges a helper returning with a trylock held by whether its callers release it, as they change', async () => {
    const files = { 'arch/x86/kvm/grab.c': GRAB, 'arch/x86/kvm/user.c': USER_RELEASES };
    const seen = await replay(files, [
      { 'arch/x86/kvm/user.c': USER_KEEPS },
      { 'arch/x86/kvm/grab.c': above(GRAB, 2) },
      { 'arch/x86/kvm/user.c': above(USER_RELEASES, 1) },
      { 'arch/x86/kvm/user.c': USER_KEEPS },
    ]);
    const grabbed = (list: string[]): boolean => list.some((s) => (JSON.parse(s) as Finding).functionName === 'demo_grab_vm');
    expect(grabbed(seen[0])).toBe(false);
    expect(grabbed(seen[1])).toBe(true);
    expect(grabbed(seen[3])).toBe(false);
    expect(grabbed(seen[4])).toBe(true);
  });
});

const NOTIFIER = `#include "kvm_mini.h"

struct demo_hva_range {
	unsigned long start;
	unsigned long end;
	bool (*handler)(struct kvm *kvm, unsigned long start, unsigned long end);
};

static bool demo_walk(struct kvm *kvm, const struct demo_hva_range *range)
{
	return range->handler(kvm, range->start, range->end);
}

static int demo_range_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	const struct demo_hva_range range = {
		.start		= r->start,
		.end		= r->end,
		.handler	= demo_unmap_handler,
	};

	demo_walk(mmu_notifier_to_kvm(mn), &range);
	return 0;
}

static const struct mmu_notifier_ops demo_ops = {
	.invalidate_range_start	= demo_range_start,
};
`;
const HANDLER_QUIET = `#include "kvm_mini.h"

bool demo_unmap_handler(struct kvm *kvm, unsigned long start, unsigned long end)
{
	return kvm->arch.nr_mmu_pages > end - start;
}
`;
const HANDLER_LOCKING = `#include "kvm_mini.h"

bool demo_unmap_handler(struct kvm *kvm, unsigned long start, unsigned long end)
{
	mutex_lock(&kvm->slots_arch_lock);
	kvm->arch.nr_mmu_pages = (int)(end - start);
	mutex_unlock(&kvm->slots_arch_lock);
	return true;
}
`;

describe('incremental notifier-lock', () => {
  it('follows a handler that starts and stops taking a forbidden lock, and edits that move the chain', async () => {
    const files = { 'virt/kvm/notifier.c': NOTIFIER, 'arch/x86/kvm/handler.c': HANDLER_QUIET };
    const seen = await replay(files, [
      { 'arch/x86/kvm/handler.c': HANDLER_LOCKING },
      { 'arch/x86/kvm/handler.c': above(HANDLER_LOCKING, 3) },
      { 'virt/kvm/notifier.c': above(NOTIFIER, 2) },
      { 'arch/x86/kvm/handler.c': HANDLER_QUIET },
    ]);
    expect(codesOf(seen[0])).toEqual([]);
    expect(codesOf(seen[1])).toEqual(['notifier-lock']);
    expect(codesOf(seen[3])).toEqual(['notifier-lock']);
    expect(codesOf(seen[4])).toEqual([]);
  });
});
