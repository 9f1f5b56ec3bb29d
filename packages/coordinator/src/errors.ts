/** Domain errors of the coordinator; the gRPC service maps each code to a status in one place. */
export type CoordinatorErrorCode =
  | 'invalid-argument'
  | 'unauthenticated'
  | 'permission-denied'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'resource-exhausted'
  | 'aborted'
  | 'unavailable';

export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';
  constructor(
    readonly code: CoordinatorErrorCode,
    message: string,
  ) {
    super(message);
  }
}
