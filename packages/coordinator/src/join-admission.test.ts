/** Join admission alone: each check's refusal, in its words and code. */
import { PROTOCOL_VERSION, type RunSettings } from '@pfedlora/protocol';
import { CoordinatorError } from './errors';
import { checkClientAccess, checkContract, checkTakeover, newResumeToken, type AccessPolicy } from './join-admission';
import { joinInfo } from '../test/raw-client';

const policy: AccessPolicy = { clientCredential: 'sesame', runId: 'run-j', phase: 'running', isEvicted: (id) => id === 'gone' };
const settings = { representationDim: 500, classNames: ['t-shirt', 'trouser', 'pullover'] } as unknown as RunSettings;

function outcome(run: () => void): string {
  try {
    run();
    return 'OK';
  } catch (error) {
    if (!(error instanceof CoordinatorError)) throw error;
    return `${error.code}: ${error.message}`;
  }
}

test('access: protocol version, credential, a run to join, evictions', () => {
  const who = { clientId: 'c1', protocolVersion: PROTOCOL_VERSION, credential: 'sesame' };
  expect(outcome(() => checkClientAccess(who, policy))).toBe('OK');
  expect(outcome(() => checkClientAccess({ ...who, protocolVersion: 1 }, policy))).toMatch(/^failed-precondition: client speaks protocol version 1, this coordinator speaks 2/);
  expect(outcome(() => checkClientAccess({ ...who, credential: 'guess' }, policy))).toBe('unauthenticated: client c1: wrong or missing credential');
  expect(outcome(() => checkClientAccess(who, { ...policy, phase: 'idle' }))).toBe('unavailable: no run has been started on this coordinator yet; retry later');
  expect(outcome(() => checkClientAccess({ ...who, clientId: 'gone' }, policy))).toBe('permission-denied: client gone was evicted from run run-j by an operator');
});

test('the adapter contract: d, C and the class names, both values named', () => {
  const info = joinInfo('c1', { model: { ...joinInfo('c1').model, numClasses: 3 } });
  expect(outcome(() => checkContract(info, settings, 'run-j'))).toBe('OK');
  expect(outcome(() => checkContract({ ...info, model: { ...info.model, representationDim: 64, numClasses: 10 } }, settings, 'run-j'))).toBe(
    "failed-precondition: client c1's model zoo/cnn2 does not meet run run-j's adapter contract: representation width d = 64, the run requires d = 500; 10 classes, the run requires C = 3",
  );
  expect(outcome(() => checkContract({ ...info, classNames: ['trouser', 'zebra', 'yak'] }, settings, 'run-j'))).toBe(
    'failed-precondition: client c1\'s data has classes "zebra", "yak" outside run run-j\'s 3 classes (t-shirt, trouser, pullover)',
  );
});

test('a connected session is taken over only with its resume token; a session without a stream by anyone', () => {
  const token = newResumeToken();
  expect(token).toMatch(/^[0-9a-f]{32}$/);
  expect(newResumeToken()).not.toBe(token);
  const live = { connected: true, resumeToken: token };
  expect(outcome(() => checkTakeover(joinInfo('c1', { resumeToken: token }), live))).toBe('OK');
  expect(outcome(() => checkTakeover(joinInfo('c1'), live))).toMatch(/^already-exists: client c1 is connected in another session and this Join carries no resume token: /);
  expect(outcome(() => checkTakeover(joinInfo('c1', { resumeToken: newResumeToken() }), live))).toMatch(/^already-exists: .* carries another resume token/);
  expect(outcome(() => checkTakeover(joinInfo('c1', { resumeToken: 'short' }), live))).toMatch(/^already-exists: /);
  expect(outcome(() => checkTakeover(joinInfo('c1'), { connected: false, resumeToken: token }))).toBe('OK');
  expect(outcome(() => checkTakeover(joinInfo('c1'), undefined))).toBe('OK');
});
