import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSource, walkSources } from '../../server/cli/files';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-locklint-files-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, content: string | Buffer): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

describe('finding C files', () => {
  it('takes .c and .h files, skipping .git, node_modules and generated *.mod.c', () => {
    write('virt/kvm/kvm_main.c', 'int x;');
    write('virt/kvm/kvm_mm.h', 'int y;');
    write('virt/kvm/kvm.mod.c', 'int z;');
    write('virt/kvm/Makefile', 'obj-y += kvm_main.o');
    write('.git/objects/a.c', 'int g;');
    write('tools/node_modules/b.c', 'int n;');
    const { files, notes } = walkSources([tmp]);
    expect(files.map((f) => path.relative(tmp, f))).toEqual(['virt/kvm/kvm_main.c', 'virt/kvm/kvm_mm.h']);
    expect(notes).toEqual([]);
  });

  it('lists a file named explicitly once, even when its directory is given too', () => {
    const file = write('one/a.c', 'int a;');
    expect(walkSources([file, path.dirname(file), file]).files).toEqual([file]);
  });

  it('reads C text, and refuses binary and oversized files with a reason', () => {
    const good = write('read/good.c', 'void f(void) {}\n');
    const binary = write('read/blob.c', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2]));
    const big = write('read/big.c', 'x'.repeat(4096));
    expect(readSource(good)).toEqual({ ok: true, text: 'void f(void) {}\n' });
    expect(readSource(binary)).toMatchObject({ ok: false, reason: expect.stringMatching(/binary/) });
    expect(readSource(big, 1024)).toMatchObject({ ok: false, reason: expect.stringMatching(/above the 1 KiB limit/) });
    expect(readSource(path.join(tmp, 'read/missing.c'))).toMatchObject({ ok: false, reason: expect.stringMatching(/ENOENT/) });
  });
});

describe('a whole kernel tree', () => {
  it('walks only KVM: virt/kvm, arch/*/kvm and KVM headers, not the rest of the kernel', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kll-kernel-'));
    const put = (rel: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), 'int x;\n');
    };
    for (const rel of [
      'virt/kvm/kvm_main.c',
      'arch/x86/kvm/x86.c',
      'arch/arm64/kvm/arm.c',
      'arch/x86/include/asm/kvm_host.h',
      'arch/x86/include/asm/page.h',
      'include/linux/kvm_host.h',
      'include/linux/mutex.h',
      'include/kvm/arm_vgic.h',
      'kernel/sched/core.c',
      'drivers/net/foo.c',
    ]) put(rel);
    const rel = walkSources([root]).files.map((f) => path.relative(root, f));
    expect(rel).toEqual([
      'arch/arm64/kvm/arm.c',
      'arch/x86/include/asm/kvm_host.h',
      'arch/x86/kvm/x86.c',
      'include/kvm/arm_vgic.h',
      'include/linux/kvm_host.h',
      'virt/kvm/kvm_main.c',
    ]);
    // A subdirectory of the tree is walked whole, as asked.
    expect(walkSources([path.join(root, 'drivers')]).files).toHaveLength(1);
  });
});
