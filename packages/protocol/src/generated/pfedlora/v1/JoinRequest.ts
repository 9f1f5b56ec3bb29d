// Original file: ../../proto/pfedlora/v1/federation.proto

import type { TensorShapeInfo as _pfedlora_v1_TensorShapeInfo, TensorShapeInfo__Output as _pfedlora_v1_TensorShapeInfo__Output } from '../../pfedlora/v1/TensorShapeInfo';
import type { ModelDescriptor as _pfedlora_v1_ModelDescriptor, ModelDescriptor__Output as _pfedlora_v1_ModelDescriptor__Output } from '../../pfedlora/v1/ModelDescriptor';
import type { Long } from '@grpc/proto-loader';

export interface JoinRequest {
  /**
   * Stable identity of the client; a reconnecting client sends the same id.
   */
  'client_id'?: (string);
  /**
   * Protocol 1's zoo name. Protocol 2 clients fill it with model.name so that
   * a protocol-1 coordinator can parse the request and refuse it by version.
   */
  'model_kind'?: (string);
  /**
   * Training samples it holds: the aggregation weight n_k.
   */
  'num_samples'?: (number | string | Long);
  /**
   * Training engine it runs, e.g. "wasm", "tensorflow-gpu".
   */
  'backend'?: (string);
  /**
   * 2 since the adapter contract (docs/protocol.md, "Versions").
   */
  'protocol_version'?: (number);
  /**
   * Protocol 1's data shape; protocol 2 clients fill it for a protocol-1
   * coordinator's version refusal only (model.input_shape is what counts).
   */
  'data'?: (_pfedlora_v1_TensorShapeInfo | null);
  /**
   * Bearer credential, when the coordinator requires one.
   */
  'credential'?: (string);
  /**
   * Its private model as the adapter contract sees it (never the model itself).
   */
  'model'?: (_pfedlora_v1_ModelDescriptor | null);
  /**
   * The class names its data's labels carry, each one of the run's classes.
   */
  'class_names'?: (string)[];
  /**
   * The resume_token of this client id's previous JoinResponse, when it has
   * one (empty: none). While that session still holds its Subscribe stream, a
   * Join under the same client id without this token is refused with
   * ALREADY_EXISTS, so a Join cannot silently take a live session over.
   */
  'resume_token'?: (string);
}

export interface JoinRequest__Output {
  /**
   * Stable identity of the client; a reconnecting client sends the same id.
   */
  'client_id': (string);
  /**
   * Protocol 1's zoo name. Protocol 2 clients fill it with model.name so that
   * a protocol-1 coordinator can parse the request and refuse it by version.
   */
  'model_kind': (string);
  /**
   * Training samples it holds: the aggregation weight n_k.
   */
  'num_samples': (number);
  /**
   * Training engine it runs, e.g. "wasm", "tensorflow-gpu".
   */
  'backend': (string);
  /**
   * 2 since the adapter contract (docs/protocol.md, "Versions").
   */
  'protocol_version': (number);
  /**
   * Protocol 1's data shape; protocol 2 clients fill it for a protocol-1
   * coordinator's version refusal only (model.input_shape is what counts).
   */
  'data': (_pfedlora_v1_TensorShapeInfo__Output | null);
  /**
   * Bearer credential, when the coordinator requires one.
   */
  'credential': (string);
  /**
   * Its private model as the adapter contract sees it (never the model itself).
   */
  'model': (_pfedlora_v1_ModelDescriptor__Output | null);
  /**
   * The class names its data's labels carry, each one of the run's classes.
   */
  'class_names': (string)[];
  /**
   * The resume_token of this client id's previous JoinResponse, when it has
   * one (empty: none). While that session still holds its Subscribe stream, a
   * Join under the same client id without this token is refused with
   * ALREADY_EXISTS, so a Join cannot silently take a live session over.
   */
  'resume_token': (string);
}
