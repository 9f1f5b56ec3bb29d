/** The tfjs-core instance pfedlora trains with: programs that define their own network use this one. */
export * as tf from '@tensorflow/tfjs-core';
export * from './engine';
export * from './zoo';
export * from './network';
export * from './model-source';
export * from './layers-model';
export * from './layers-model-writer';
export * from './adapter';
export * from './optimizer';
export * from './flops';
export * from './batches';
export * from './private-model';
export * from './cancellation';
export * from './algorithms';
export * from './data';
export * from './simulation';
export * from './bench-train';
export { createTrainingClient, dataParallelRefusal, resolveThreads, type TrainingClient, type TrainingOptions } from './parallel/training-client';
