/**
 * Ops tables bound through name-pasting macros (`.vcpu_load = vt_op(vcpu_load)` with
 * `#define vt_op(name) vt_##name`, vmx/main.c since 6.15): each definition of the macro gives the
 * function the field is bound to. Fixture: test/fixtures/lock-order/ops-bound-through-macro.c.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { namePastingMacros } from '../../server/frontend/decl';
import { initFrontend, parseAndExtract, SourceFile } from '../../server/frontend/index';

beforeAll(async () => {
  await initFrontend();
});

describe('name-pasting macros', () => {
  it('reads prefix and suffix of every #ifdef alternative, and nothing else', () => {
    const text = [
      '#ifdef CONFIG_X',
      '#define vt_op(name) vt_##name',
      '#else',
      '#define vt_op(name) vmx_##name',
      '#define tdx_only(name) NULL',
      '#endif',
      '#define handler(n) n ## _handler',
      '#define wrapped(n) pre_##n##_post',
      '#define call(n) foo(n)',
      '#define twice(n) n##n',
    ].join('\n');
    expect([...namePastingMacros(text)]).toEqual([
      ['vt_op', [['vt_', ''], ['vmx_', '']]],
      ['handler', [['', '_handler']]],
      ['wrapped', [['pre_', '_post']]],
    ]);
  });

  it('bind ops table fields to the functions they name, and skip macros that name none', () => {
    const text = [
      '#define vt_op(name) vt_##name',
      '#define tdx_only(name) NULL',
      'static struct kvm_x86_ops vt_x86_ops = {',
      '\t.vcpu_load = vt_op(vcpu_load),',
      '\t.vm_init = tdx_only(vm_init),',
      '\t.run = vmx_run,',
      '};',
    ].join('\n');
    const facts = parseAndExtract('arch/x86/kvm/vmx/main.c', text);
    expect(facts.bindings.map((b) => [b.structType, b.field, b.func])).toEqual([
      ['kvm_x86_ops', 'vcpu_load', 'vt_vcpu_load'],
      ['kvm_x86_ops', 'run', 'vmx_run'],
    ]);
  });

  it('re-read the tables of a file when an edit changes the macro, as a fresh parse would', () => {
    const text = (prefix: string) =>
      [
        `#define vt_op(name) ${prefix}_##name`,
        '',
        'static int vt_vcpu_load(struct kvm_vcpu *vcpu) { return 0; }',
        '',
        'static struct kvm_x86_ops vt_x86_ops = {',
        '\t.vcpu_load = vt_op(vcpu_load),',
        '};',
      ].join('\n');
    const sf = new SourceFile('arch/x86/kvm/vmx/main.c', text('vt'));
    const funcs = () => sf.facts.bindings.map((b) => b.func);
    expect(funcs()).toEqual(['vt_vcpu_load']);
    // Typed over the prefix: `vt` -> `vmx` on line 0.
    sf.update(text('vmx'), [{ range: { start: { line: 0, column: 20 }, end: { line: 0, column: 22 } }, text: 'vmx' }]);
    expect(funcs()).toEqual(['vmx_vcpu_load']);
    expect(funcs()).toEqual(parseAndExtract('arch/x86/kvm/vmx/main.c', text('vmx')).bindings.map((b) => b.func));
  });
});
