/**
 * What the engine needs from the C front end (server/frontend/index.ts). Kept as an interface so
 * the workspace can be driven by facts alone (tests, the command line's workers).
 */
import type { FileFacts, FunctionFacts, Pos, Range } from '../frontend/facts';
import type { TextChange } from './api';

export interface SourceFileLike {
  readonly facts: FileFacts;
  readonly text: string;
  update(text: string, changes?: TextChange[]): FileFacts;
  dispose(): void;
}

export type FoundAt =
  | { kind: 'lock'; path: import('../frontend/facts').AccessPath; range: Range; api?: string }
  | { kind: 'spteHelper'; name: string; range: Range }
  | { kind: 'identifier'; name: string; range: Range }
  | null;

export interface FrontendPort {
  init(): Promise<void>;
  open(file: string, text: string): SourceFileLike;
  findAt(sf: SourceFileLike, pos: Pos): FoundAt;
  functionAt(sf: SourceFileLike, pos: Pos): FunctionFacts | null | undefined;
}
