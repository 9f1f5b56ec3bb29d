export * from './dataset';
export * from './idx';
export * from './cifar';
export * from './load';
