export * from './chromium.ts';
export * from './ports.ts';
export * from './processes.ts';
export * from './pages.ts';
