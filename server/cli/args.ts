/**
 * Command-line parsing for `kvm-locklint` (the grammar is fixed by DESIGN.md). Pure: no I/O.
 * Bad usage throws a UsageError whose message is the one-line reason printed on stderr.
 */
import type { RuleCode, Severity } from '../checks/finding';
import { RULES } from '../checks/registry';
import type { CodeSetting } from '../engine/api';

export class UsageError extends Error {}

/** The codes of DESIGN.md, in the registry's order (one list for the CLI, settings and docs). */
export const RULE_CODES: readonly RuleCode[] = RULES.map((r) => r.code);

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'information'];

export type FailOn = Severity | 'never';
export type CheckFormat = 'text' | 'json' | 'sarif';

export interface CheckArgs {
  command: 'check';
  paths: string[];
  rulesFile?: string;
  format: CheckFormat;
  root?: string;
  /** Undefined: one per core. */
  jobs?: number;
  failOn: FailOn;
  codes: Partial<Record<RuleCode, CodeSetting>>;
}

export interface RulesArgs {
  command: 'rules';
  rulesFile?: string;
  /** Discover the rules that apply to this path (default: the current directory). */
  path?: string;
  format: 'text' | 'json';
}

export interface RaceArgs {
  command: 'race';
  list: boolean;
  id?: string;
  variant: 'buggy' | 'fixed';
  format: 'text' | 'json';
}

export type CliArgs = CheckArgs | RulesArgs | RaceArgs | { command: 'help' } | { command: 'version' };

export const USAGE = `usage: kvm-locklint [check] [paths...] [options]
       kvm-locklint rules [PATH] [--rules FILE] [--format text|json]
       kvm-locklint race --list | race ID [--variant buggy|fixed] [--format text|json]

Checks Linux KVM C code against KVM's locking rules (the tree's
Documentation/virt/kvm/locking.rst, or built-in rules when it has none).

check options:
  --rules FILE            a locking.rst / locking.txt of any version (default: discovered per file)
  --format text|json|sarif
  --root DIR              report paths relative to DIR (default: the current directory)
  --jobs N                front-end worker threads (default: cores; 1 = in-process)
  --fail-on error|warning|information|never   exit 1 when findings reach it (default: warning)
  --disable CODE          turn a rule off (repeatable; CODE may be a comma list)
  --enable CODE           turn a rule on
  --severity CODE=LEVEL   report CODE at LEVEL (error|warning|information)
  -h, --help              this text
  -V, --version           print the version

rule codes: ${RULE_CODES.join(', ')}
exit status: 0 nothing at or above --fail-on, 1 findings, 2 bad usage or fatal error`;

/** Options that take a value, per command. */
const VALUE_OPTIONS: Record<'check' | 'rules' | 'race', string[]> = {
  check: ['--rules', '--format', '--root', '--jobs', '--fail-on', '--disable', '--enable', '--severity'],
  rules: ['--rules', '--format'],
  race: ['--variant', '--format'],
};
const FLAG_OPTIONS: Record<'check' | 'rules' | 'race', string[]> = {
  check: [],
  rules: [],
  race: ['--list'],
};

interface Tokens {
  positionals: string[];
  options: { name: string; value: string }[];
}

function tokenize(argv: string[], command: 'check' | 'rules' | 'race'): Tokens {
  const positionals: string[] = [];
  const options: Tokens['options'] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    if (VALUE_OPTIONS[command].includes(name)) {
      let value: string | undefined;
      if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
      else value = argv[++i];
      if (value === undefined || (value.startsWith('--') && eq < 0)) throw new UsageError(`${name} needs a value`);
      options.push({ name, value });
    } else if (FLAG_OPTIONS[command].includes(name) && eq < 0) {
      options.push({ name, value: '' });
    } else if (VALUE_OPTIONS.check.includes(name) || FLAG_OPTIONS.race.includes(name) || VALUE_OPTIONS.race.includes(name)) {
      throw new UsageError(`${name} is not an option of \`kvm-locklint ${command}\``);
    } else {
      throw new UsageError(`unknown option ${arg} (see --help)`);
    }
  }
  return { positionals, options };
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${name} must be one of ${allowed.join('|')}, not '${value}'`);
}

function ruleCode(name: string, value: string): RuleCode {
  if ((RULE_CODES as readonly string[]).includes(value)) return value as RuleCode;
  throw new UsageError(`${name}: unknown rule code '${value}' (codes: ${RULE_CODES.join(', ')})`);
}

function single(tokens: Tokens, name: string): string | undefined {
  const found = tokens.options.filter((o) => o.name === name);
  if (found.length > 1) throw new UsageError(`${name} given more than once`);
  return found[0]?.value;
}

export function parseArgs(argv: string[]): CliArgs {
  if (argv.some((a) => a === '--help' || a === '-h')) return { command: 'help' };
  if (argv.some((a) => a === '--version' || a === '-V')) return { command: 'version' };
  const first = argv[0];
  if (first === 'help') return { command: 'help' };
  if (first === 'rules') return parseRules(tokenize(argv.slice(1), 'rules'));
  if (first === 'race') return parseRace(tokenize(argv.slice(1), 'race'));
  const rest = first === 'check' ? argv.slice(1) : argv;
  return parseCheck(tokenize(rest, 'check'));
}

function parseCheck(tokens: Tokens): CheckArgs {
  const format = oneOf('--format', single(tokens, '--format') ?? 'text', ['text', 'json', 'sarif'] as const);
  const failOn = oneOf('--fail-on', single(tokens, '--fail-on') ?? 'warning', [...SEVERITIES, 'never'] as const);
  const jobsText = single(tokens, '--jobs');
  let jobs: number | undefined;
  if (jobsText !== undefined) {
    if (!/^\d+$/.test(jobsText) || Number(jobsText) < 1 || Number(jobsText) > 256) {
      throw new UsageError(`--jobs must be a whole number from 1 to 256, not '${jobsText}'`);
    }
    jobs = Number(jobsText);
  }
  const codes: Partial<Record<RuleCode, CodeSetting>> = {};
  // Options apply in the order given, so `--disable X --enable X` ends enabled.
  for (const { name, value } of tokens.options) {
    if (name === '--disable' || name === '--enable') {
      for (const part of value.split(',').filter(Boolean)) {
        const code = ruleCode(name, part.trim());
        codes[code] = { ...codes[code], enabled: name === '--enable' };
      }
    } else if (name === '--severity') {
      const m = /^([^=]+)=(.*)$/.exec(value);
      if (!m) throw new UsageError(`--severity wants CODE=LEVEL, not '${value}'`);
      const code = ruleCode(name, m[1].trim());
      const severity = oneOf('--severity', m[2].trim(), SEVERITIES);
      codes[code] = { enabled: codes[code]?.enabled ?? true, severity };
    }
  }
  return {
    command: 'check',
    paths: tokens.positionals,
    rulesFile: single(tokens, '--rules'),
    format,
    root: single(tokens, '--root'),
    jobs,
    failOn,
    codes,
  };
}

function parseRules(tokens: Tokens): RulesArgs {
  if (tokens.positionals.length > 1) throw new UsageError('rules takes at most one path');
  return {
    command: 'rules',
    rulesFile: single(tokens, '--rules'),
    path: tokens.positionals[0],
    format: oneOf('--format', single(tokens, '--format') ?? 'text', ['text', 'json'] as const),
  };
}

function parseRace(tokens: Tokens): RaceArgs {
  const list = tokens.options.some((o) => o.name === '--list');
  const format = oneOf('--format', single(tokens, '--format') ?? 'text', ['text', 'json'] as const);
  const variant = oneOf('--variant', single(tokens, '--variant') ?? 'buggy', ['buggy', 'fixed'] as const);
  if (tokens.positionals.length > 1) throw new UsageError(`race takes one scenario id, not ${tokens.positionals.length}`);
  const id = tokens.positionals[0];
  if (!list && !id) throw new UsageError('race needs a scenario id or --list');
  if (list && id) throw new UsageError('race: give either --list or a scenario id');
  return { command: 'race', list, id, variant, format };
}
