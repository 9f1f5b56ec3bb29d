// Original file: ../../proto/pfedlora/v1/admin.proto

import type { RoundInFlight as _pfedlora_v1_RoundInFlight, RoundInFlight__Output as _pfedlora_v1_RoundInFlight__Output } from '../../pfedlora/v1/RoundInFlight';
import type { Long } from '@grpc/proto-loader';

export interface RunStatus {
  'run_id'?: (string);
  /**
   * idle, waiting, running, paused, finished, aborted
   */
  'phase'?: (string);
  'rounds_completed'?: (number);
  'rounds_total'?: (number);
  'in_flight'?: (_pfedlora_v1_RoundInFlight | null);
  'connected_clients'?: (number);
  'known_clients'?: (number);
  'global_sha256'?: (string);
  /**
   * Of the last completed round; negative when none.
   */
  'last_mean_accuracy'?: (number | string);
  'updated_unix_ms'?: (number | string | Long);
  /**
   * Set when the coordinator resumed this run from a checkpoint.
   */
  'resumed_from_round'?: (number);
  'pause_requested'?: (boolean);
  /**
   * Mean macro-F1 of the last completed round's reporting clients that sent
   * one; absent before the first round or when none did (older clients).
   */
  'last_mean_macro_f1'?: (number | string);
  '_last_mean_macro_f1'?: "last_mean_macro_f1";
}

export interface RunStatus__Output {
  'run_id': (string);
  /**
   * idle, waiting, running, paused, finished, aborted
   */
  'phase': (string);
  'rounds_completed': (number);
  'rounds_total': (number);
  'in_flight': (_pfedlora_v1_RoundInFlight__Output | null);
  'connected_clients': (number);
  'known_clients': (number);
  'global_sha256': (string);
  /**
   * Of the last completed round; negative when none.
   */
  'last_mean_accuracy': (number);
  'updated_unix_ms': (number);
  /**
   * Set when the coordinator resumed this run from a checkpoint.
   */
  'resumed_from_round': (number);
  'pause_requested': (boolean);
  /**
   * Mean macro-F1 of the last completed round's reporting clients that sent
   * one; absent before the first round or when none did (older clients).
   */
  'last_mean_macro_f1'?: (number);
  '_last_mean_macro_f1'?: "last_mean_macro_f1";
}
