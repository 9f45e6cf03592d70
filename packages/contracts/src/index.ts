export * from './accounts.ts';
export * from './ids.ts';
export * from './ingest.ts';
export * from './money.ts';
export * from './problem.ts';
export * from './products.ts';
export * from './shows.ts';
export * from './tokens.ts';
