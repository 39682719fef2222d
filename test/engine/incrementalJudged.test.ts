/**
 * Functions judged as roots (no caller in the workspace) change when a call to them appears or
 * vanishes in another file; re-checks reuse per-function keys only for names whose callers and
 * flow did not change, so they must still follow such an edit both ways.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';

const rules = builtinRules();

// Our own C in KVM's idioms.
const LEAF = `
static void frob_commit(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->slots_lock);
	kvm->frobbed++;
}

void frob_prepare(struct kvm *kvm)
{
	frob_commit(kvm);
}
`;

const CALLER = `
void frob_locked(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	frob_prepare(kvm);
	mutex_unlock(&kvm->slots_lock);
}
`;

const NO_CALL = `
void frob_locked(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	mutex_unlock(&kvm->slots_lock);
}
`;

function requires(m: Map<string, Finding[]>): string[] {
  const out: string[] = [];
  for (const list of m.values()) for (const f of list) if (f.code === 'lock-requires') out.push(`${f.file}:${f.range.start.line} ${f.functionName}`);
  return out.sort();
}

/** The lock-requires findings of a fresh workspace holding `files` (path -> text). */
async function freshRequires(files: Record<string, string>): Promise<string[]> {
  const ws = await createWorkspace({ rules });
  for (const [path, text] of Object.entries(files)) ws.setFile(path, text);
  return requires(ws.analyze().findings);
}

describe('incremental re-checks of root functions', () => {
  it('reports a function once its last caller is gone, and stops when the call comes back', async () => {
    const ws = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/leaf.c', LEAF);
    ws.setFile('arch/x86/kvm/caller.c', CALLER);
    expect(requires(ws.analyze().findings)).toEqual([]);

    ws.setFile('arch/x86/kvm/caller.c', NO_CALL);
    const without = requires(ws.analyze().findings);
    expect(without).toEqual(['arch/x86/kvm/leaf.c:9 frob_prepare']);

    expect(await freshRequires({ 'arch/x86/kvm/leaf.c': LEAF, 'arch/x86/kvm/caller.c': NO_CALL })).toEqual(without);

    ws.setFile('arch/x86/kvm/caller.c', CALLER);
    expect(requires(ws.analyze().findings)).toEqual([]);
  });

  it('follows a definition that the configuration does not choose as it starts or stops calling a static helper', async () => {
    // virt/kvm's generic ioctl loses to the architecture's own definition of the same name; the
    // static helper only it calls is not compiled with it, so it is not an entry point.
    const generic = (callsHelper: boolean) => `
void frob_flush(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->slots_lock);
	kvm->frobbed++;
}

static int frob_get_log_protect(struct kvm *kvm)
{
	frob_flush(kvm);
	return 0;
}

static int frob_get_log(struct kvm *kvm)
{
	int r = 0;

	mutex_lock(&kvm->slots_lock);
	${callsHelper ? 'r = frob_get_log_protect(kvm);' : ''}
	mutex_unlock(&kvm->slots_lock);
	return r;
}
`;
    const arch = `
int frob_get_log(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	kvm->frobbed--;
	mutex_unlock(&kvm->slots_lock);
	return 0;
}
`;
    const ws = await createWorkspace({ rules });
    ws.setFile('virt/kvm/frob.c', generic(true));
    ws.setFile('arch/s390/kvm/frob.c', arch);
    expect(requires(ws.analyze().findings)).toEqual([]);

    ws.setFile('virt/kvm/frob.c', generic(false));
    const without = requires(ws.analyze().findings);
    expect(without).toEqual(['virt/kvm/frob.c:9 frob_get_log_protect']);
    expect(await freshRequires({ 'virt/kvm/frob.c': generic(false), 'arch/s390/kvm/frob.c': arch })).toEqual(without);

    ws.setFile('virt/kvm/frob.c', generic(true));
    expect(requires(ws.analyze().findings)).toEqual([]);
  });

  it('follows a walker that starts or stops holding the lock its handler asserts', async () => {
    const handler = `
static void frob_zap(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm->frobbed = 0;
}

long frob_ioctl(struct kvm *kvm)
{
	frob_walk(kvm, frob_zap);
	return 0;
}
`;
    const walker = (locked: boolean) => `
void frob_walk(struct kvm *kvm, void (*fn)(struct kvm *kvm))
{
	${locked ? 'write_lock(&kvm->mmu_lock);' : ''}
	fn(kvm);
	${locked ? 'write_unlock(&kvm->mmu_lock);' : ''}
}
`;
    const ws = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/handler.c', handler);
    ws.setFile('arch/x86/kvm/walker.c', walker(true));
    expect(requires(ws.analyze().findings)).toEqual([]);

    ws.setFile('arch/x86/kvm/walker.c', walker(false));
    const without = requires(ws.analyze().findings);
    expect(without).toEqual(['arch/x86/kvm/handler.c:9 frob_ioctl']);
    expect(await freshRequires({ 'arch/x86/kvm/handler.c': handler, 'arch/x86/kvm/walker.c': walker(false) })).toEqual(without);

    ws.setFile('arch/x86/kvm/walker.c', walker(true));
    expect(requires(ws.analyze().findings)).toEqual([]);
  });

  it('follows an ops table that starts or stops naming a static function into srcu-required', async () => {
    const user = `
static int frob_init(struct kvm *kvm)
{
	return (int)gfn_to_hva(kvm, 1);
}
`;
    const table = 'static struct kvm_x86_ops frob_ops = { .vm_init = frob_init };\n';
    const srcu = (m: Map<string, Finding[]>): string[] => {
      const out: string[] = [];
      for (const list of m.values()) for (const f of list) if (f.code === 'srcu-required') out.push(`${f.file}:${f.range.start.line} ${f.functionName}`);
      return out.sort();
    };
    const ws = await createWorkspace({ rules });
    ws.setFile('arch/x86/kvm/user.c', user);
    ws.setFile('arch/x86/kvm/ops.c', '');
    expect(srcu(ws.analyze().findings)).toEqual([]);
    ws.setFile('arch/x86/kvm/ops.c', table);
    expect(srcu(ws.analyze().findings)).toEqual(['arch/x86/kvm/user.c:3 frob_init']);
    ws.setFile('arch/x86/kvm/ops.c', '');
    expect(srcu(ws.analyze().findings)).toEqual([]);
  });
});
