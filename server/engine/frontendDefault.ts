/** The real C front end behind the engine's FrontendPort (undefined until server/frontend/index.ts exists). */
import type { FrontendPort } from './frontendPort';

export function defaultFrontend(): FrontendPort | undefined {
  return undefined;
}
