/**
 * Three rules of docs/protocol.md over a real gRPC server on 127.0.0.1, each
 * refusal with the status the spec names and the global adapter unchanged:
 * upload chunks of at most chunk_size (RESOURCE_EXHAUSTED), Download only of
 * the caller's task's or the current global payload (NOT_FOUND), and no Join
 * taking a connected session over without its resume token (ALREADY_EXISTS).
 */
import * as grpc from '@grpc/grpc-js';
import { encodeTensors, sha256Hex, splitIntoChunks } from '@pfedlora/core';
import { adapterSpec } from '@pfedlora/ml';
import { serverEventFromProto, type JoinAccepted, type ServerEvent__Output, type TrainTaskInfo } from '@pfedlora/protocol';
import { silentLogger } from '@pfedlora/telemetry';
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from './config';
import { startCoordinator, type RunningCoordinator } from './server';
import { headerFor, joinInfo, RawFederationClient, statusOf, tensorsOf } from '../test/raw-client';

const CHUNK = 1024;
const config: CoordinatorConfig = { ...DEFAULT_COORDINATOR, host: '127.0.0.1', port: 0, adminPort: undefined, rounds: 2, minClients: 1, waitClients: 1, rank: 2, adapterAlpha: 2, chunkSize: CHUNK, heartbeatIntervalMs: 200, clientTimeoutMs: 10_000 };
const spec = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });
const delta = tensorsOf(spec, (i) => ((i % 11) - 5) / 1000);
const bytes = encodeTensors(delta);

/** Each test's coordinator and the raw clients it connected (all dropped after the test). */
let server: RunningCoordinator;
const opened: RawFederationClient[] = [];
beforeEach(async () => void (server = await startCoordinator(config, silentLogger())));
afterEach(() => Promise.all(opened.splice(0).map((c) => c.kill())).then(() => server.shutdown(200)));
const connect = () => opened[opened.push(new RawFederationClient(`127.0.0.1:${server.port}`)) - 1]!;

/** The session's event stream, with its train tasks as they come and how it ended. */
function subscribe(client: RawFederationClient, session: JoinAccepted) {
  const tasks: TrainTaskInfo[] = [];
  const waiters: Array<() => void> = [];
  const stream = client.client.Subscribe({ session_id: session.sessionId });
  stream.on('data', (m: ServerEvent__Output) => {
    const e = serverEventFromProto(m);
    if (e.kind !== 'train') return;
    tasks.push(e.task);
    waiters.splice(0).forEach((w) => w());
  });
  const ended = new Promise<string>((resolve) => {
    stream.on('error', (e: grpc.ServiceError) => resolve(`${grpc.status[e.code]}: ${e.details}`));
    stream.on('end', () => resolve('end'));
  });
  const task = async (n: number): Promise<TrainTaskInfo> => {
    while (tasks.length < n) await new Promise<void>((r) => waiters.push(r));
    return tasks[n - 1]!;
  };
  return { stream, task, ended };
}

const heartbeat = (client: RawFederationClient, session: JoinAccepted) =>
  new Promise((resolve, reject) => client.client.Heartbeat({ session_id: session.sessionId, state: 'idle', round: 0 }, (e: grpc.ServiceError | null) => (e ? reject(e) : resolve(null))));

const until = async (what: () => boolean) => {
  for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(what()).toBe(true);
};

test('an upload chunk larger than chunk_size is RESOURCE_EXHAUSTED and leaves the task open; chunks of chunk_size are taken', async () => {
  const c = connect();
  const session = await c.join(joinInfo('c1'));
  expect(session.chunkSize).toBe(CHUNK);
  const { task } = subscribe(c, session);
  const t = await task(1);
  const before = server.coordinator.status().globalSha256;
  // Well under gRPC's message limit (chunk_size + 64 KiB): refused by the declared maximum alone.
  const refused = await statusOf(c.upload(headerFor(session, t, delta, bytes), bytes, { chunkSize: 2 * CHUNK }));
  expect(refused).toBe(`RESOURCE_EXHAUSTED: upload chunk of ${2 * CHUNK} bytes is larger than the chunk size ${CHUNK} (JoinResponse.chunk_size); send chunks of at most that size`);
  expect(server.coordinator.status()).toMatchObject({ globalSha256: before, roundsCompleted: 0, inFlight: { round: 1, reported: 0 } });
  const closed = new Promise((resolve) => server.coordinator.once('round-closed', resolve));
  expect(await statusOf(c.upload(headerFor(session, t, delta, bytes), bytes, { chunks: splitIntoChunks(bytes, CHUNK) }))).toBe('OK');
  await closed;
  expect(server.coordinator.status().roundsCompleted).toBe(1);
});

test("a session downloads only its task's global payload or the current one: any other is NOT_FOUND", async () => {
  const c1 = connect();
  const s1 = await c1.join(joinInfo('c1'));
  const events = subscribe(c1, s1);
  const first = await events.task(1);
  const g0 = first.global.sha256;
  // Another client's session, not in the round (never subscribed): the current global only.
  const c2 = connect();
  const s2 = await c2.join(joinInfo('c2'));
  expect(sha256Hex(await c1.download(s1, g0))).toBe(g0);
  expect(sha256Hex(await c2.download(s2, g0))).toBe(g0);
  expect(await statusOf(c1.download(s1, 'a'.repeat(64)))).toMatch(/^NOT_FOUND: payload a{64} is not served to this session/);
  expect(await statusOf(c1.download({ ...s1, sessionId: 'made-up' }, g0))).toMatch(/^NOT_FOUND: unknown session made-up/);
  // Round 1 closes: the next task names the new global, and the old one is no longer anyone's to fetch.
  expect(await statusOf(c1.upload(headerFor(s1, first, delta, bytes), bytes))).toBe('OK');
  const second = await events.task(2);
  expect(second.round).toBe(2);
  const g1 = second.global.sha256;
  expect(g1).not.toBe(g0);
  expect(server.coordinator.status().globalSha256).toBe(g1);
  expect(await statusOf(c1.download(s1, g0))).toMatch(new RegExp(`^NOT_FOUND: payload ${g0} is not served to this session`));
  expect(await statusOf(c2.download(s2, g0))).toMatch(/^NOT_FOUND: /);
  expect(sha256Hex(await c1.download(s1, g1))).toBe(g1);
  expect(server.coordinator.status().globalSha256).toBe(g1);
});

test('a Join cannot take a connected session over without its resume token; with it, the client keeps its session and task', async () => {
  const a = connect();
  const first = await a.join(joinInfo('c1'));
  expect(first.resumeToken).toMatch(/^[0-9a-f]{32}$/);
  const old = subscribe(a, first);
  const task = await old.task(1);
  const before = server.coordinator.status().globalSha256;
  // Another process with the same client id, over another connection.
  const b = connect();
  expect(await statusOf(b.join(joinInfo('c1')))).toMatch(/^ALREADY_EXISTS: client c1 is connected in another session and this Join carries no resume token/);
  expect(await statusOf(b.join(joinInfo('c1', { resumeToken: 'f'.repeat(32) })))).toMatch(/^ALREADY_EXISTS: client c1 is connected in another session and this Join carries another resume token/);
  expect(await statusOf(heartbeat(a, first))).toBe('OK');
  // The same client back over a new connection, before the old stream was noticed gone: its token takes the session over.
  const second = await b.join(joinInfo('c1', { resumeToken: first.resumeToken! }));
  expect(second.resumeToken).not.toBe(first.resumeToken);
  expect(await old.ended).toBe('end');
  expect(await statusOf(heartbeat(a, first))).toMatch(/^NOT_FOUND: unknown session/);
  const resumed = subscribe(b, second);
  expect((await resumed.task(1)).taskId).toBe(task.taskId);
  // Once that session's stream is gone (the process died), a restarted client without the token gets in.
  resumed.stream.cancel();
  await until(() => server.coordinator.status().connectedClients === 0);
  const c = connect();
  expect(await statusOf(c.join(joinInfo('c1')))).toBe('OK');
  expect(server.coordinator.status()).toMatchObject({ globalSha256: before, knownClients: 1, roundsCompleted: 0 });
});
