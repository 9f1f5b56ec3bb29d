export * from './config';
export * from './coordinator';
export * from './errors';
export * from './ledger';
export * from './payload-store';
export * from './persistence';
export * from './server';
export * from './service';
