/** The real C front end (server/frontend/index.ts) behind the engine's FrontendPort. */
import { findAt, functionAt, initFrontend, SourceFile } from '../frontend/index';
import type { FrontendPort, SourceFileLike } from './frontendPort';

export function defaultFrontend(): FrontendPort {
  return {
    init: () => initFrontend(),
    open: (file, text) => new SourceFile(file, text),
    findAt: (sf: SourceFileLike, pos) => findAt(sf as SourceFile, pos),
    functionAt: (sf: SourceFileLike, pos) => functionAt(sf as SourceFile, pos),
  };
}
