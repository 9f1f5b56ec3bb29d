// Original file: ../../proto/pfedlora/v1/federation.proto


export interface RunFinished {
  'run_id'?: (string);
  'rounds_completed'?: (number);
  'reason'?: (string);
}

export interface RunFinished__Output {
  'run_id': (string);
  'rounds_completed': (number);
  'reason': (string);
}
