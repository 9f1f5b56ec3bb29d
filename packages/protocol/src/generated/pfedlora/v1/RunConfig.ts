// Original file: ../../proto/pfedlora/v1/federation.proto

import type { AdapterContract as _pfedlora_v1_AdapterContract, AdapterContract__Output as _pfedlora_v1_AdapterContract__Output } from '../../pfedlora/v1/AdapterContract';
import type { Long } from '@grpc/proto-loader';

/**
 * What every client of a run trains with; set by the coordinator.
 */
export interface RunConfig {
  'algorithm'?: (string);
  /**
   * Adapter rank r (part of the contract: D is [d, r], U is [r, C]).
   */
  'rank'?: (number);
  'adapter_alpha'?: (number | string);
  'local_epochs'?: (number);
  'batch_size'?: (number);
  'learning_rate'?: (number | string);
  'momentum'?: (number | string);
  'weight_decay'?: (number | string);
  'clip_norm'?: (number | string);
  'rounds'?: (number);
  'seed'?: (number | string | Long);
  /**
   * pFedLoRA step-2 epochs (adapter alone); 0 (an older coordinator) means local_epochs.
   */
  'adapter_epochs'?: (number);
  /**
   * pFedLoRA: the adapter factors averaged, "all" or "up"; empty (an older coordinator) means "all".
   */
  'adapter_share'?: (string);
  /**
   * What every private model must meet.
   */
  'contract'?: (_pfedlora_v1_AdapterContract | null);
}

/**
 * What every client of a run trains with; set by the coordinator.
 */
export interface RunConfig__Output {
  'algorithm': (string);
  /**
   * Adapter rank r (part of the contract: D is [d, r], U is [r, C]).
   */
  'rank': (number);
  'adapter_alpha': (number);
  'local_epochs': (number);
  'batch_size': (number);
  'learning_rate': (number);
  'momentum': (number);
  'weight_decay': (number);
  'clip_norm': (number);
  'rounds': (number);
  'seed': (number);
  /**
   * pFedLoRA step-2 epochs (adapter alone); 0 (an older coordinator) means local_epochs.
   */
  'adapter_epochs': (number);
  /**
   * pFedLoRA: the adapter factors averaged, "all" or "up"; empty (an older coordinator) means "all".
   */
  'adapter_share': (string);
  /**
   * What every private model must meet.
   */
  'contract': (_pfedlora_v1_AdapterContract__Output | null);
}
