/**
 * Who may Describe and Join, checked before a client holds a session: the
 * protocol version, the credential, a run to join, evictions, the adapter
 * contract, and that a Join does not take a live session of its client id
 * over without that session's resume token. Each check throws a
 * CoordinatorError naming the problem (docs/protocol.md, "Join rules").
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { PROTOCOL_VERSION, ProtocolVersionError, type JoinInfo, type RunPhase, type RunSettings } from '@pfedlora/protocol';
import { CoordinatorError } from './errors';

/** What access depends on besides the request. */
export interface AccessPolicy {
  /** The credential clients must present; undefined: none. */
  readonly clientCredential: string | undefined;
  readonly runId: string;
  readonly phase: RunPhase;
  isEvicted(clientId: string): boolean;
}

/** Describe's and Join's common checks. */
export function checkClientAccess(info: { readonly clientId: string; readonly protocolVersion: number; readonly credential: string }, policy: AccessPolicy): void {
  if (info.protocolVersion !== PROTOCOL_VERSION) throw new CoordinatorError('failed-precondition', new ProtocolVersionError(info.protocolVersion).message);
  if (policy.clientCredential !== undefined && info.credential !== policy.clientCredential) {
    throw new CoordinatorError('unauthenticated', `client ${info.clientId}: wrong or missing credential`);
  }
  if (policy.phase === 'idle') throw new CoordinatorError('unavailable', 'no run has been started on this coordinator yet; retry later');
  if (policy.isEvicted(info.clientId)) throw new CoordinatorError('permission-denied', `client ${info.clientId} was evicted from run ${policy.runId} by an operator`);
}

/**
 * The adapter contract at the door: a model whose d or C differ from the
 * run's, or data with a class the run does not have, is refused with both
 * values named (FAILED_PRECONDITION), before it holds a session.
 */
export function checkContract(info: JoinInfo, settings: RunSettings, runId: string): void {
  const { model } = info;
  const problems: string[] = [];
  if (model.representationDim !== settings.representationDim) problems.push(`representation width d = ${model.representationDim}, the run requires d = ${settings.representationDim}`);
  if (model.numClasses !== settings.classNames.length) problems.push(`${model.numClasses} classes, the run requires C = ${settings.classNames.length}`);
  if (problems.length) {
    throw new CoordinatorError('failed-precondition', `client ${info.clientId}'s model ${model.family}/${model.name} does not meet run ${runId}'s adapter contract: ${problems.join('; ')}`);
  }
  const known = new Set(settings.classNames);
  const unknown = info.classNames.filter((c) => !known.has(c));
  if (unknown.length) {
    const shown = settings.classNames.slice(0, 20).join(', ') + (settings.classNames.length > 20 ? ', ...' : '');
    throw new CoordinatorError('failed-precondition', `client ${info.clientId}'s data has class${unknown.length > 1 ? 'es' : ''} ${unknown.slice(0, 5).map((c) => `"${c}"`).join(', ')} outside run ${runId}'s ${settings.classNames.length} classes (${shown})`);
  }
}

/**
 * The algorithm's rule on the model (pfedlora-qv: a zoo transformer): a model
 * that cannot take part is refused at the door (FAILED_PRECONDITION) naming
 * the client, its model and the rule.
 */
export function checkTakesPart<T extends object>(info: Pick<JoinInfo, 'clientId' | 'model'>, part: T | { readonly refused: string }, algorithm: string, runId: string): asserts part is T {
  if ('refused' in part) {
    throw new CoordinatorError('failed-precondition', `client ${info.clientId}'s model ${info.model.family}/${info.model.name} cannot take part in run ${runId} (${algorithm}): ${part.refused}`);
  }
}

/** A fresh resume token: 128 random bits, hex. */
export function newResumeToken(): string {
  return randomBytes(16).toString('hex');
}

function sameToken(given: string, wanted: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(wanted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A Join under a client id whose session is live (holds its Subscribe stream)
 * takes that session over only with its resume token: the same client coming
 * back over a new connection before the coordinator noticed the old one died.
 * Anyone else is refused (ALREADY_EXISTS) until that session is gone: its
 * stream closes, or the sweep drops it after the client timeout. Without mTLS
 * this is all that keeps a process that knows a client id from stealing a
 * connected client's session; a client that is not connected can still be
 * joined as by anyone who knows its id (docs/security.md).
 */
export function checkTakeover(info: JoinInfo, current: { readonly connected: boolean; readonly resumeToken: string } | undefined): void {
  if (!current?.connected) return;
  if (info.resumeToken !== undefined && sameToken(info.resumeToken, current.resumeToken)) return;
  throw new CoordinatorError(
    'already-exists',
    `client ${info.clientId} is connected in another session and this Join ${info.resumeToken === undefined ? 'carries no' : 'carries another'} resume token: ` +
      'another process may be running with this client id; retry with backoff (a dead session is dropped after the client timeout)',
  );
}
