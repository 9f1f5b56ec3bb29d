export * from './random';
export * from './tensor';
export * from './codec';
export * from './chunking';
export * from './aggregate';
export * from './partition';
export * from './robust';
export * from './privacy';
