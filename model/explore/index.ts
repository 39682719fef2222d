export { explore } from './explore';
export { stableKey } from './stable-key';
export type * from './types';
