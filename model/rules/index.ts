/** The rule model: KVM's locking document (every version) or the built-in rules, and their rendering. */

export type {
  Arch,
  LeafRule,
  LockEntry,
  MustAlsoHoldRule,
  NotifierRule,
  OrderEdge,
  RuleModel,
  SameClassNestingRule,
  SrcuRule,
  TypeNote,
} from './types';
export { parseLockingDoc, looksLikeLockingDoc, emptyRuleModel, isDocLockName } from './parse';
export { extractLockingDoc, type ExtractedDoc } from './extract';
export { builtinRules, BUILTIN_SOURCE } from './builtin';
export {
  docLockRef,
  lockNamePath,
  docLockKey,
  docLockKind,
  docLockKindSleeps,
  type DocLockRef,
  type DocLockKind,
} from './names';
export { rulesToJson, rulesToText, type RulesJson } from './render';
