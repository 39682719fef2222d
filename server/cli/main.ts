/**
 * `kvm-locklint`: the command line (dist/cli.js; bin/kvm-locklint.js calls runFromProcess).
 * `main` takes its arguments and output streams as parameters so tests can run it in-process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rulesToJson, rulesToText } from '../../model/rules';
import { listScenarios, renderRaceText, runScenario } from '../../model/races';
import { RULES as RULE_REGISTRY } from '../checks/registry';
import type { Severity } from '../checks/finding';
import { createWorkspace } from '../engine/workspace';
import { RulesResolver, type RulesChoice } from '../engine/rulesDiscovery';
import { USAGE, UsageError, parseArgs, type CheckArgs, type FailOn, type RaceArgs, type RulesArgs } from './args';
import { runCheck, type CheckOptions, type CheckReport } from './check';
import { missingPaths } from './files';
import { toJsonReport } from './formatJson';
import { toSarif, type SarifRuleInfo } from './formatSarif';
import { renderText, renderTextFooter } from './formatText';
import { TOOL_NAME, examplesDir, toolVersion } from './packageInfo';
import { displayPath } from './paths';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The directory relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
  /** For tests: another analyzer behind the same facade. */
  createWorkspace?: CheckOptions['createWorkspace'];
}

/** Exit status: 0 clean, 1 findings at or above --fail-on, 2 bad usage or fatal error. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    const args = parseArgs(argv);
    switch (args.command) {
      case 'help':
        io.stdout(USAGE + '\n');
        return 0;
      case 'version':
        io.stdout(`${TOOL_NAME} ${toolVersion()}\n`);
        return 0;
      case 'rules':
        return rulesCommand(args, io);
      case 'race':
        return raceCommand(args, io);
      case 'check':
        return await checkCommand(args, io);
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    io.stderr(`${TOOL_NAME}: ${err instanceof UsageError ? '' : 'error: '}${firstLine(reason)}\n`);
    return 2;
  }
}

/** Entry point of bin/kvm-locklint.js. */
export function runFromProcess(): void {
  const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);
  main(process.argv.slice(2), { stdout: write(process.stdout), stderr: write(process.stderr) }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${TOOL_NAME}: error: ${firstLine(String(err))}\n`);
      process.exitCode = 2;
    },
  );
}

const SEVERITY_RANK: Record<Severity, number> = { information: 1, warning: 2, error: 3 };

export function exitStatus(report: CheckReport, failOn: FailOn): number {
  if (failOn === 'never') return 0;
  const threshold = SEVERITY_RANK[failOn];
  return report.findings.some((f) => SEVERITY_RANK[f.severity] >= threshold) ? 1 : 0;
}

async function checkCommand(args: CheckArgs, io: CliIO): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  const root = path.resolve(cwd, args.root ?? '.');
  if (args.root !== undefined && !isDirectory(root)) throw new UsageError(`--root ${args.root}: not a directory`);
  const given = args.paths.length ? args.paths.map((p) => path.resolve(cwd, p)) : [examplesDir()];
  const missing = missingPaths(given);
  if (missing.length) throw new UsageError(`no such file or directory: ${displayPath(cwd, missing[0])}`);
  const rulesFile = args.rulesFile !== undefined ? path.resolve(cwd, args.rulesFile) : undefined;
  if (rulesFile !== undefined && !fs.existsSync(rulesFile)) throw new UsageError(`--rules ${args.rulesFile}: no such file`);

  const report = await runCheck({
    paths: given,
    rulesFile,
    jobs: args.jobs,
    codes: args.codes,
    createWorkspace: io.createWorkspace ?? createWorkspace,
  });

  // Every file failed in the front end (not skipped as binary or too large): that is a broken
  // installation, not a clean tree.
  const failed = report.notes.filter((n) => n.message.startsWith('front end failed'));
  if (report.files.length > 0 && failed.length === report.files.length) throw new Error(`no file could be analysed: ${failed[0].message}`);

  if (args.format === 'json') {
    io.stdout(JSON.stringify(toJsonReport(report, root), null, 2) + '\n');
  } else if (args.format === 'sarif') {
    io.stdout(JSON.stringify(toSarif(report, root, sarifRules()), null, 2) + '\n');
  } else {
    io.stdout(renderText(report, root));
    io.stderr(renderTextFooter(report, root));
  }
  // Machine formats still say on stderr when the rules fell back, as the text format does.
  if (args.format !== 'text') {
    for (const g of report.groups) if (g.choice.fellBack) io.stderr(`${TOOL_NAME}: note: rules: ${g.choice.warnings.join('; ')}\n`);
  }
  return exitStatus(report, args.failOn);
}

function sarifRules(): SarifRuleInfo[] {
  return RULE_REGISTRY.map((r) => ({
    code: r.code,
    severity: r.defaultSeverity,
    description: r.description,
    details: `${r.description} Enforces: ${r.enforces}.${r.implemented ? '' : ' (Not checked yet by this version.)'}`,
  }));
}

function rulesCommand(args: RulesArgs, io: CliIO): number {
  const cwd = io.cwd ?? process.cwd();
  let choice: RulesChoice;
  if (args.rulesFile !== undefined) {
    const file = path.resolve(cwd, args.rulesFile);
    if (!fs.existsSync(file)) throw new UsageError(`--rules ${args.rulesFile}: no such file`);
    choice = new RulesResolver(file).forFile(file);
  } else {
    const target = path.resolve(cwd, args.path ?? '.');
    if (!fs.existsSync(target)) throw new UsageError(`no such file or directory: ${args.path}`);
    const resolver = new RulesResolver();
    choice = fs.statSync(target).isDirectory() ? resolver.forDirectory(target) : resolver.forFile(target);
  }
  if (args.format === 'json') {
    const json = rulesToJson(choice.model) as object;
    const extra = choice.fellBack ? { fallbackFrom: choice.docPath, rulesWarnings: choice.warnings } : {};
    io.stdout(JSON.stringify({ ...json, ...extra }, null, 2) + '\n');
  } else {
    io.stdout(rulesToText(choice.model));
    for (const w of choice.fellBack ? choice.warnings : []) io.stderr(`${TOOL_NAME}: note: rules: ${w}\n`);
  }
  return 0;
}

function raceCommand(args: RaceArgs, io: CliIO): number {
  const scenarios = listScenarios();
  if (args.list) {
    if (args.format === 'json') {
      io.stdout(JSON.stringify(scenarios, null, 2) + '\n');
    } else {
      const width = Math.max(...scenarios.map((s) => s.id.length), 2);
      for (const s of scenarios) io.stdout(`${s.id.padEnd(width)}  ${s.title}\n`);
    }
    return 0;
  }
  const id = args.id!;
  if (!scenarios.some((s) => s.id === id)) {
    throw new UsageError(`unknown race '${id}' (known: ${scenarios.map((s) => s.id).join(', ')})`);
  }
  const result = runScenario(id, args.variant);
  io.stdout(args.format === 'json' ? JSON.stringify(result, bigintAsHex, 2) + '\n' : ensureNewline(renderRaceText(result)));
  return 0;
}

/** SPTE values in model states are 64-bit bigints, which JSON cannot carry: write them as hex. */
function bigintAsHex(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `0x${value.toString(16)}` : value;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function ensureNewline(s: string): string {
  return s.endsWith('\n') ? s : s + '\n';
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
