/**
 * The injection grammars in VS Code's own TextMate engine (vscode-textmate + vscode-oniguruma)
 * with VS Code's C grammar, both taken from the code-server that the editor e2e test installs
 * into .e2e/ (test/e2e/setup.sh). Skipped when it is not installed: the project does not depend
 * on vscode-textmate; grammar.test.ts checks the regexes without it.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const VSCODE = path.join(ROOT, '.e2e/code-server-4.100.3/node_modules/code-server/lib/vscode');
const C_GRAMMAR = path.join(VSCODE, 'extensions/cpp/syntaxes/c.tmLanguage.json');
const available = fs.existsSync(path.join(VSCODE, 'node_modules/vscode-textmate')) && fs.existsSync(C_GRAMMAR);

interface Token { startIndex: number; endIndex: number; scopes: string[] }
interface Grammar { tokenizeLine(line: string, state: unknown): { tokens: Token[]; ruleStack: unknown } }

describe.skipIf(!available)('injection grammars in vscode-textmate with VS Code\'s C grammar', () => {
  let grammar: Grammar;
  let INITIAL: unknown;

  beforeAll(async () => {
    const req = createRequire(path.join(VSCODE, 'node_modules/'));
    const tm = req('vscode-textmate');
    const onig = req('vscode-oniguruma');
    const wasm = fs.readFileSync(path.join(VSCODE, 'node_modules/vscode-oniguruma/release/onig.wasm'));
    await onig.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const files: Record<string, string> = {
      'source.c': C_GRAMMAR,
      'kvm-locking.injection': path.join(ROOT, 'syntaxes/kvm-locking.injection.tmLanguage.json'),
      'kvm-locking.suppression.injection': path.join(ROOT, 'syntaxes/kvm-locking-suppression.injection.tmLanguage.json'),
    };
    const registry = new tm.Registry({
      onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new onig.OnigScanner(p), createOnigString: (s: string) => new onig.OnigString(s) }),
      loadGrammar: async (scope: string) => (files[scope] ? tm.parseRawGrammar(fs.readFileSync(files[scope], 'utf8'), files[scope]) : null),
      // what package.json's contributes.grammars[].injectTo does in VS Code
      getInjections: (scope: string) => (scope === 'source.c' ? ['kvm-locking.injection', 'kvm-locking.suppression.injection'] : undefined),
    });
    grammar = await registry.loadGrammar('source.c');
    INITIAL = tm.INITIAL;
  });

  /** Tokenizes a whole snippet; returns the scopes of the first token whose text is `word` on line `lineNo`. */
  function scopesOf(code: string, lineNo: number, word: string): string[] | undefined {
    let state = INITIAL;
    const lines = code.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const r = grammar.tokenizeLine(lines[i], state);
      state = r.ruleStack;
      if (i === lineNo) {
        const t = r.tokens.find((tok) => lines[i].slice(tok.startIndex, tok.endIndex) === word);
        return t?.scopes;
      }
    }
    return undefined;
  }

  const fn = (body: string) => `static int f(struct kvm *kvm)\n{\n${body}\n}`;

  it('scopes acquire, trylock, release, assertion calls inside a function body', () => {
    const code = fn('\tmutex_lock(&kvm->lock);\n\tif (!read_trylock(&gpc->lock))\n\t\treturn 0;\n\tlockdep_assert_held(&kvm->slots_lock);\n\tmutex_unlock(&kvm->lock);');
    expect(scopesOf(code, 2, 'mutex_lock')).toContain('keyword.control.lock.acquire.kvm-locklint');
    expect(scopesOf(code, 3, 'read_trylock')).toContain('keyword.control.lock.acquire.try.kvm-locklint');
    expect(scopesOf(code, 5, 'lockdep_assert_held')).toContain('keyword.other.lock.assert.kvm-locklint');
    expect(scopesOf(code, 6, 'mutex_unlock')).toContain('keyword.control.lock.release.kvm-locklint');
  });

  it('leaves look-alikes to the C grammar', () => {
    const code = fn('\tmy_mutex_lock_helper(&x);');
    expect(scopesOf(code, 2, 'my_mutex_lock_helper')?.join(' ')).not.toMatch(/kvm-locklint/);
  });

  it('does not scope lock names inside strings or comments', () => {
    const code = fn('\tpr_info("mutex_lock(&x) failed");\n\t/* mutex_lock(&kvm->lock) is taken by the caller */');
    expect(scopesOf(code, 2, 'mutex_lock')).toBeUndefined(); // part of a longer string token
    const inComment = scopesOf(code, 3, 'mutex_lock');
    expect(inComment?.join(' ') ?? '').not.toMatch(/lock\.acquire/);
  });

  it('scopes the suppression comment and its rule code, in block and line comments', () => {
    const code = fn('\tmutex_lock(&kvm->lock); /* kvm-locklint: ignore lock-order */\n\t// kvm-locklint: ignore sleep-in-atomic');
    const marker = scopesOf(code, 2, 'kvm-locklint');
    expect(marker).toContain('keyword.control.suppression.kvm-locklint');
    expect(marker?.some((s) => s.startsWith('comment.'))).toBe(true);
    expect(scopesOf(code, 2, 'lock-order')).toContain('constant.language.rule-code.kvm-locklint');
    expect(scopesOf(code, 3, 'sleep-in-atomic')).toContain('constant.language.rule-code.kvm-locklint');
  });

  it('scopes sparse annotations on a declaration and guard() forms', () => {
    expect(scopesOf('static void pic_lock(struct kvm_pic *s) __acquires(&s->lock)', 0, '__acquires')).toContain(
      'storage.modifier.lock.annotation.kvm-locklint',
    );
    const code = fn('\tguard(mutex)(&kvm_usage_lock);');
    expect(scopesOf(code, 2, 'guard')).toContain('keyword.control.lock.acquire.guard.kvm-locklint');
    expect(scopesOf(code, 2, 'mutex')).toContain('support.type.lock-class.kvm-locklint');
  });
});
