/**
 * The TextMate injection grammars, checked without a TextMate engine (vscode-textmate is not a
 * dependency): every `match` regex is compiled as a JavaScript RegExp and run against sample
 * lines, and we check which scope each lock call gets and which look-alikes get none.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const CODE = path.join(ROOT, 'syntaxes/kvm-locking.injection.tmLanguage.json');
const SUPPRESS = path.join(ROOT, 'syntaxes/kvm-locking-suppression.injection.tmLanguage.json');

interface Capture {
  name?: string;
  patterns?: Rule[];
}
interface Rule {
  match?: string;
  name?: string;
  include?: string;
  captures?: Record<string, Capture>;
}
interface Grammar {
  scopeName: string;
  injectionSelector: string;
  patterns: Rule[];
  repository: Record<string, Rule>;
}

function load(file: string): Grammar {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Grammar;
}

/** The top-level rules in the order the grammar tries them. */
function rules(g: Grammar): Rule[] {
  return g.patterns.map((p) => (p.include ? g.repository[p.include.slice(1)] : p));
}

/** Oniguruma and JavaScript agree on the constructs these grammars use (\b, \s, \w, (?=), (?:)). */
function toRegExp(source: string): RegExp {
  return new RegExp(source, 'g');
}

interface Token {
  text: string;
  scope: string;
}

/**
 * A minimal scanner with TextMate's rule: at each position the earliest match wins, ties go to
 * the first rule. Returns the named captures (and nested capture patterns) it produced.
 */
function scan(g: Grammar, line: string): Token[] {
  const out: Token[] = [];
  const compiled = rules(g).map((r) => ({ r, re: toRegExp(r.match!) }));
  let pos = 0;
  while (pos <= line.length) {
    let best: { r: Rule; m: RegExpExecArray } | null = null;
    for (const { r, re } of compiled) {
      re.lastIndex = pos;
      const m = re.exec(line);
      if (m && (!best || m.index < best.m.index)) best = { r, m };
    }
    if (!best) break;
    emit(best.r, best.m, out);
    pos = best.m.index + Math.max(best.m[0].length, 1);
  }
  return out;
}

function emit(r: Rule, m: RegExpExecArray, out: Token[]): void {
  if (r.name) out.push({ text: m[0], scope: r.name });
  for (const [i, cap] of Object.entries(r.captures ?? {})) {
    const text = m[Number(i)];
    if (text === undefined || text === '') continue;
    if (cap.name) out.push({ text, scope: cap.name });
    for (const sub of cap.patterns ?? []) {
      for (const sm of text.matchAll(toRegExp(sub.match!))) out.push({ text: sm[0], scope: sub.name! });
    }
  }
}

const scopeOf = (g: Grammar, line: string, word: string): string | undefined =>
  scan(g, line).find((t) => t.text === word)?.scope;

describe('kvm-locking.injection (C code)', () => {
  const g = load(CODE);

  it('is injected into C code outside comments and strings', () => {
    expect(g.scopeName).toBe('kvm-locking.injection');
    expect(g.injectionSelector).toBe('L:source.c -comment -string');
  });

  it('compiles every match as a JavaScript RegExp', () => {
    for (const r of Object.values(g.repository)) expect(() => toRegExp(r.match!)).not.toThrow();
  });

  it.each([
    ['\tmutex_lock(&kvm->lock);', 'mutex_lock'],
    ['\tif (mutex_lock_killable(&vcpu->mutex))', 'mutex_lock_killable'],
    ['\tmutex_lock_killable_nested(&src->lock, SINGLE_DEPTH_NESTING);', 'mutex_lock_killable_nested'],
    ['\tspin_lock_irqsave(&ioapic->lock, flags);', 'spin_lock_irqsave'],
    ['\traw_spin_lock_irq(&ka->tsc_write_lock);', 'raw_spin_lock_irq'],
    ['\tread_lock(&vcpu->kvm->mmu_lock);', 'read_lock'],
    ['\twrite_lock (&kvm->mmu_lock);', 'write_lock'],
    ['\tdown_write(&kvm->arch.apicv_update_lock);', 'down_write'],
    ['\tdown_read(&lock);', 'down_read'],
    ['\tidx = srcu_read_lock(&kvm->srcu);', 'srcu_read_lock'],
    ['\tint idx = srcu_read_lock(&vcpu->kvm->srcu);', 'srcu_read_lock'],
    ['\trcu_read_lock();', 'rcu_read_lock'],
    ['\tcpus_read_lock();', 'cpus_read_lock'],
    ['\tKVM_MMU_LOCK(kvm);', 'KVM_MMU_LOCK'],
    ['\tkvm_vcpu_srcu_read_lock(vcpu);', 'kvm_vcpu_srcu_read_lock'],
    ['\tscoped_guard(write_lock_irqsave, &kvm->mmu_lock) {', 'scoped_guard'],
  ])('%s: %s is an acquire', (line, word) => {
    expect(scopeOf(g, line, word)).toBe('keyword.control.lock.acquire.kvm-locklint');
  });

  it.each([
    ['\tif (!read_trylock(&gpc->lock))', 'read_trylock'],
    ['\tif (mutex_trylock(&vcpu->mutex))', 'mutex_trylock'],
    ['\tspin_trylock(&x->lock)', 'spin_trylock'],
    ['\tdown_read_trylock(&sem)', 'down_read_trylock'],
  ])('%s: %s is a trylock', (line, word) => {
    expect(scopeOf(g, line, word)).toBe('keyword.control.lock.acquire.try.kvm-locklint');
  });

  it('scopes guard(mutex)(&x) as an acquire with its lock class', () => {
    const toks = scan(g, '\tguard(mutex)(&kvm_usage_lock);');
    expect(toks).toContainEqual({ text: 'guard', scope: 'keyword.control.lock.acquire.guard.kvm-locklint' });
    expect(toks).toContainEqual({ text: 'mutex', scope: 'support.type.lock-class.kvm-locklint' });
    expect(scan(g, '\tguard(rcu)();').map((t) => t.text)).toEqual(['guard', '(', 'rcu', ')']);
  });

  it.each([
    ['\tmutex_unlock(&kvm->lock);', 'mutex_unlock'],
    ['\tspin_unlock_irqrestore(&ioapic->lock, flags);', 'spin_unlock_irqrestore'],
    ['\traw_spin_unlock(&l);', 'raw_spin_unlock'],
    ['\tread_unlock_irqrestore(&gpc->lock, flags);', 'read_unlock_irqrestore'],
    ['\twrite_unlock(&kvm->mmu_lock);', 'write_unlock'],
    ['\tup_read(&sem);', 'up_read'],
    ['\tup_write(&sem);', 'up_write'],
    ['\tsrcu_read_unlock(&kvm->srcu, idx);', 'srcu_read_unlock'],
    ['\trcu_read_unlock();', 'rcu_read_unlock'],
    ['\tcpus_read_unlock();', 'cpus_read_unlock'],
    ['\tKVM_MMU_UNLOCK(kvm);', 'KVM_MMU_UNLOCK'],
    ['\tkvm_vcpu_srcu_read_unlock(vcpu);', 'kvm_vcpu_srcu_read_unlock'],
  ])('%s: %s is a release', (line, word) => {
    expect(scopeOf(g, line, word)).toBe('keyword.control.lock.release.kvm-locklint');
  });

  it('scopes drop-and-retake helpers on their own', () => {
    expect(scopeOf(g, '\tif (cond_resched_rwlock_write(&kvm->mmu_lock))', 'cond_resched_rwlock_write')).toBe(
      'keyword.control.lock.reacquire.kvm-locklint',
    );
  });

  it.each([
    ['\tlockdep_assert_held(&kvm->slots_lock);', 'lockdep_assert_held'],
    ['\tlockdep_assert_held_write(&kvm->mmu_lock);', 'lockdep_assert_held_write'],
    ['\tlockdep_assert_held_read(&kvm->mmu_lock);', 'lockdep_assert_held_read'],
    ['\tlockdep_assert_not_held(&kvm_usage_lock);', 'lockdep_assert_not_held'],
    ['\tkvm_lockdep_assert_mmu_lock_held(kvm, shared);', 'kvm_lockdep_assert_mmu_lock_held'],
  ])('%s: %s is a lockdep assertion', (line, word) => {
    expect(scopeOf(g, line, word)).toBe('keyword.other.lock.assert.kvm-locklint');
  });

  it.each([
    ['static void pic_lock(struct kvm_pic *s) __acquires(&s->lock)', '__acquires'],
    ['static void pic_unlock(struct kvm_pic *s) __releases(&s->lock)', '__releases'],
    ['static int f(struct kvm *kvm) __must_hold(&kvm->lock)', '__must_hold'],
  ])('%s: %s is a sparse annotation', (line, word) => {
    expect(scopeOf(g, line, word)).toBe('storage.modifier.lock.annotation.kvm-locklint');
  });

  it.each([
    'my_mutex_lock_helper(&x);',
    'mutex_lock_helper(&x);',
    'mutex_locked = true;',
    'struct mutex lock; int spin_lock_count;',
    'x = kvm->mmu_lock;',
    'mutex_is_locked(&kvm->lock)',
    'static_guard(x)(y);',
    'int read_lock_irqsave_flags;',
    'my_lockdep_assert_held(&x);',
    '__acquires_count = 1;',
  ])('gives no lock scope to the look-alike %s', (line) => {
    expect(scan(g, line)).toEqual([]);
  });

  it('finds every lock operation of a nested line, in order', () => {
    const toks = scan(g, 'mutex_lock(&a); spin_lock(&b); spin_unlock(&b); mutex_unlock(&a);');
    expect(toks.map((t) => t.text)).toEqual(['mutex_lock', 'spin_lock', 'spin_unlock', 'mutex_unlock']);
  });
});

describe('kvm-locking.suppression.injection (C comments)', () => {
  const g = load(SUPPRESS);

  it('is injected into C comments only', () => {
    expect(g.injectionSelector).toBe('L:source.c comment');
  });

  it('scopes the marker and each known rule code', () => {
    const toks = scan(g, '\t/* kvm-locklint: ignore lock-order, sleep-in-atomic */');
    expect(toks).toContainEqual({ text: 'kvm-locklint', scope: 'keyword.control.suppression.kvm-locklint' });
    expect(toks).toContainEqual({ text: 'ignore', scope: 'keyword.control.suppression.ignore.kvm-locklint' });
    expect(toks.filter((t) => t.scope === 'constant.language.rule-code.kvm-locklint').map((t) => t.text)).toEqual([
      'lock-order',
      'sleep-in-atomic',
    ]);
  });

  it('works in line comments too', () => {
    expect(scopeOf(g, '// kvm-locklint: ignore spte-nonatomic', 'spte-nonatomic')).toBe(
      'constant.language.rule-code.kvm-locklint',
    );
  });

  it('does not mark an unknown code as a rule code', () => {
    const toks = scan(g, '/* kvm-locklint: ignore lock-ordr */');
    expect(toks.some((t) => t.scope === 'constant.language.rule-code.kvm-locklint')).toBe(false);
  });

  it('ignores comments that merely mention the tool', () => {
    expect(scan(g, '/* see kvm-locklint docs; ignore this */')).toEqual([]);
  });
});
