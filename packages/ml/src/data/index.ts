export * from './dataset';
export * from './idx';
export * from './cifar';
export * from './load';
export * from './csv';
export * from './image-folder';
export * from './source';
export * from './sample-data';
