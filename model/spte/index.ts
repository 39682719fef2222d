export * from './bits';
export * from './predicates';
export * from './transitions';
export * from './helpers';
