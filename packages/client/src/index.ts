export * from './config';
export * from './daemon';
export * from './data';
export * from './transfer';
export * from './private-state';
export * from './metrics';
export * from './tls';
