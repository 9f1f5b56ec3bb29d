// Original file: ../../proto/pfedlora/v1/admin.proto


export interface RunRequest {
  /**
   * Must name the active run when set (guards against acting on the wrong run).
   */
  'run_id'?: (string);
  'reason'?: (string);
}

export interface RunRequest__Output {
  /**
   * Must name the active run when set (guards against acting on the wrong run).
   */
  'run_id': (string);
  'reason': (string);
}
