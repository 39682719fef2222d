/** Document lock name -> reference: model/rules/names.ts is the one reader of document names. */
export { docLockRef, type DocLockRef } from '../../model/rules/names';
