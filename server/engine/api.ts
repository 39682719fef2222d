/**
 * The analyzer as the language server, the command line and the tests see it.
 *
 * A `Workspace` holds the facts of a set of C files judged by one rule model, and answers with
 * findings and hovers. It never touches the file system: callers hand it file contents.
 */
import type { RuleModel } from '../../model/rules/types';
import type { Finding, RuleCode, Severity } from '../checks/finding';
import type { FileFacts, Pos, Range } from '../frontend/facts';
import type { LockGraph } from './lockGraphTypes';

export interface CodeSetting {
  enabled: boolean;
  /** Overrides the rule's default severity. */
  severity?: Severity;
}

export interface WorkspaceOptions {
  rules: RuleModel;
  /** Per-code enable and severity; codes not listed use their defaults. */
  codes?: Partial<Record<RuleCode, CodeSetting>>;
  /**
   * Analysed once (the command line): the caches keep no record of what their values read,
   * which only re-checks need. An analyze() after a change then starts from scratch.
   */
  oneShot?: boolean;
}

/** An LSP-style incremental change: replace `range` (in the previous text) by `text`. */
export interface TextChange {
  range: Range;
  text: string;
}

export interface AnalysisStats {
  files: number;
  functions: number;
  lockEvents: number;
  /** Milliseconds spent in the last analyze(), front end excluded. */
  ms: number;
  /** Milliseconds per phase of the last analyze() (index, summaries, each check), for tuning. */
  phases?: Record<string, number>;
  /** Functions whose flow was recomputed by the last analyze(). */
  recomputed?: number;
}

export interface AnalysisResult {
  /** Findings per file path (paths as given to setFile), suppressions applied, settings applied. */
  findings: Map<string, Finding[]>;
  stats: AnalysisStats;
}

export interface HoverInfo {
  /** Markdown. */
  contents: string;
  range: Range;
}

export interface Workspace {
  readonly rules: RuleModel;
  /**
   * Adds or replaces a file. With `changes` (applied in order to the previous text) the parse is
   * incremental; `text` is always the full new text.
   */
  setFile(path: string, text: string, changes?: TextChange[]): void;
  /**
   * Adds facts computed elsewhere (the command line's worker threads run the front end in
   * parallel and hand the results over). Hover on such a file needs setFile.
   */
  setFacts(path: string, facts: FileFacts): void;
  removeFile(path: string): void;
  hasFile(path: string): boolean;
  /** Re-runs what changed since the last call (summaries to a fixpoint, then the checks). */
  analyze(): AnalysisResult;
  /** Hover at a position of a file already given to setFile. */
  hover(path: string, pos: Pos): HoverInfo | null;
  /** The documented and observed lock orders (the "Show lock order" picture). */
  lockGraph?(): LockGraph;
}
