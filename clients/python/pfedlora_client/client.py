"""The reference client daemon, written from docs/protocol.md: Describe, build the
trainer for the run's contract, Join, hold a Subscribe stream, and for each TrainTask
download the global payload (resuming from the bytes it has), train, evaluate, and
upload the delta in chunks; Heartbeat beside it; on a lost coordinator rejoin with
exponential backoff and equal jitter. It never sends its model or data."""
from __future__ import annotations

import os
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Sequence

import grpc

from . import codec
from ._proto import federation_pb2 as pb
from ._proto import federation_pb2_grpc as pb_grpc
from .log import Logger
from .state import PrivateSnapshot, PrivateStateStore
from .trainer import PFedLoRATrainer, Stopped
from .wire import PROTOCOL_VERSION, RunSettings, WireError, headers, pfedlora_spec, run_settings, spec_of_headers

#: Codes worth retrying: the network or the coordinator went away, not a refusal.
TRANSIENT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


def upload_verdict(code: Optional[grpc.StatusCode], details: str) -> str:
    """What a failed Upload says about its task (docs/protocol.md, "Status codes"): "counted", an earlier
    attempt was accepted ("duplicate upload"); "stale", the round closed or the task was cancelled
    (FAILED_PRECONDITION): drop it; "retry", the link broke, the session is unknown (rejoin first) or the
    attempt was aborted (also "already in progress": the coordinator has not yet seen a broken attempt end);
    "refused", anything else."""
    if code == grpc.StatusCode.ABORTED:
        return "counted" if "duplicate upload" in details else "retry"
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return "stale"
    return "retry" if code in TRANSIENT or code == grpc.StatusCode.NOT_FOUND else "refused"


EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REFUSED = 4


class ClientRefused(Exception):
    """The client cannot take part in this run as it is (its model or data, or the coordinator said no); retrying cannot help."""


@dataclass
class TlsFiles:
    """What `pfedlora certs issue --client-id ID` writes to clients/ID/."""

    cert_file: str
    key_file: str
    ca_file: str
    #: Host name to check the coordinator's certificate against, if not the one dialled.
    server_name: Optional[str] = None


@dataclass
class ClientConfig:
    coordinator: str
    client_id: str
    credential: str = ""
    tls: Optional[TlsFiles] = None
    backend: str = "torch-cpu"
    reconnect_initial_ms: int = 250
    reconnect_max_ms: int = 10_000
    silence_timeout_ms: int = 30_000
    give_up_after_ms: int = 0
    dump_updates_dir: Optional[str] = None
    #: Where the private state is saved every round; a restart resumes from it (None: memory only).
    state_dir: Optional[str] = None


@dataclass
class Prepared:
    """What a client builds for a run after Describe: its trainer and the run-class names its data holds."""

    trainer: PFedLoRATrainer
    class_names: List[str]
    source: str = ""


#: Builds the trainer for the run (settings from Describe) and this client's seed (derive_seed(run seed, 'client', id)).
Builder = Callable[[RunSettings, int], Prepared]


def backoff_delay(attempt: int, initial_ms: int, max_ms: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with equal jitter, in seconds: half the capped delay plus a uniform share of the other half."""
    cap = min(max_ms, initial_ms * 2 ** min(attempt, 30))
    return (cap / 2 + rand() * cap / 2) / 1000.0


def channel_options(max_message_bytes: int = 64 * 1024 * 1024) -> list:
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 15_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.initial_reconnect_backoff_ms", 250),
        ("grpc.max_reconnect_backoff_ms", 5_000),
    ]


def make_channel(config: ClientConfig) -> grpc.Channel:
    options = channel_options()
    if config.tls is None:
        return grpc.insecure_channel(config.coordinator, options=options)

    def read(path: str, flag: str) -> bytes:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise ClientRefused(f"cannot read {path} ({flag}): {e.strerror}; ask the federation's operator for one ('pfedlora certs issue --client-id ID')") from None

    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(config.tls.ca_file, "--tls-ca"),
        private_key=read(config.tls.key_file, "--tls-key"),
        certificate_chain=read(config.tls.cert_file, "--tls-cert"),
    )
    if config.tls.server_name:
        options.append(("grpc.ssl_target_name_override", config.tls.server_name))
    return grpc.secure_channel(config.coordinator, credentials, options=options)


def _code(error: BaseException) -> Optional[grpc.StatusCode]:
    return error.code() if isinstance(error, grpc.RpcError) and hasattr(error, "code") else None


def _details(error: BaseException) -> str:
    if isinstance(error, grpc.RpcError) and hasattr(error, "details"):
        return error.details() or str(error)
    return str(error)


class Daemon:
    def __init__(self, config: ClientConfig, build: Builder, log: Logger) -> None:
        self.config = config
        self.build = build
        self.log = log.child(clientId=config.client_id)
        self.stop = threading.Event()
        self.prepared: Optional[Prepared] = None
        self.settings: Optional[RunSettings] = None
        self.run_id = ""
        self.session: Optional[pb.JoinResponse] = None
        self.state = "starting"
        self.finished: Optional[pb.RunFinished] = None
        self.rounds_trained = 0
        self.seen_tasks: set = set()
        self.latest_task_id = ""
        self.tasks: "queue.Queue[Optional[pb.TrainTask]]" = queue.Queue()
        self.worker: Optional[threading.Thread] = None
        self.active_stream = None
        self.stub: Optional[pb_grpc.FederationStub] = None
        self.current_round = 0
        self.end_reason = ""
        self.states = PrivateStateStore(config.state_dir, self.log)
        #: The last round trained into the trainer's private state (0: untrained).
        self.trained_round = 0
        #: The session whose Subscribe stream is held now (None: the link is down, the rejoin pending);
        #: `link` is notified whenever it changes, waking a transfer that waits for it.
        self.live_session: Optional[str] = None
        self.link = threading.Condition()

    # ---- lifecycle ----

    def shutdown(self) -> None:
        """Stop after what it is doing (SIGTERM): training stops at the next batch, nothing more is sent."""
        self.stop.set()
        stream = self.active_stream
        if stream is not None:
            stream.cancel()

    def run(self) -> int:
        channel = make_channel(self.config)
        self.stub = pb_grpc.FederationStub(channel)
        attempt = 0
        last_contact = time.monotonic()
        try:
            while not self.stop.is_set() and self.finished is None:
                try:
                    if self.prepared is None:
                        self._prepare(self._describe())
                    rejoined = self.session is not None
                    self.session = self._join()
                    attempt = 0
                    last_contact = time.monotonic()
                    self._consume_events(self.session, rejoined)
                    last_contact = time.monotonic()
                except ClientRefused as e:
                    self.log.error("cannot join this run", error=str(e))
                    self.end_reason = "refused"
                    return EXIT_REFUSED
                except grpc.RpcError as e:
                    code = _code(e)
                    if code == grpc.StatusCode.ALREADY_EXISTS:
                        # Another session holds this client id and this process lacks its resume token (a
                        # restart): it is dropped once it is gone; a second process with this id keeps failing here.
                        self.log.warn("another session of this client id is connected; will retry", error=_details(e), attempt=attempt)
                    elif code not in TRANSIENT and code != grpc.StatusCode.NOT_FOUND:
                        self.log.error("refused by the coordinator", code=code.name if code else None, error=_details(e))
                        self.end_reason = "refused"
                        return EXIT_REFUSED
                    else:
                        self.log.warn("coordinator unreachable; will retry", code=code.name if code else None, error=_details(e), attempt=attempt)
                if self.finished is not None or self.stop.is_set():
                    break
                if self.config.give_up_after_ms > 0 and (time.monotonic() - last_contact) * 1000 > self.config.give_up_after_ms:
                    self.log.error("giving up: coordinator unreachable", silentMs=int((time.monotonic() - last_contact) * 1000))
                    self.end_reason = "gave-up"
                    return EXIT_FAILURE
                self.stop.wait(backoff_delay(attempt, self.config.reconnect_initial_ms, self.config.reconnect_max_ms))
                attempt += 1
            return EXIT_OK
        finally:
            if self.finished is None:
                self.stop.set()  # refused, gave up or stopped: nothing more is trained or sent
            self.tasks.put(None)
            if self.worker is not None:
                self.worker.join()
            channel.close()
            reason = self.end_reason or ("finished" if self.finished is not None else "stopped")
            self.log.info("client stopped", reason=reason, roundsTrained=self.rounds_trained)

    # ---- Describe, Join ----

    def _describe(self) -> pb.DescribeResponse:
        request = pb.DescribeRequest(protocol_version=PROTOCOL_VERSION, credential=self.config.credential, client_id=self.config.client_id)
        return self.stub.Describe(request, timeout=15)

    def _prepare(self, described: pb.DescribeResponse) -> None:
        from .rng import derive_seed

        try:
            settings = run_settings(described.config)
        except WireError as e:
            raise ClientRefused(f"the coordinator's run config: {e}") from None
        if settings.algorithm != "pfedlora":
            raise ClientRefused(f"run {described.run_id} trains {settings.algorithm}; this client trains pfedlora only (docs/protocol.md lists every algorithm's payloads)")
        try:
            prepared = self.build(settings, derive_seed(settings.seed, "client", self.config.client_id))
        except ClientRefused:
            raise
        except (ValueError, OSError) as e:
            raise ClientRefused(str(e)) from None
        prepared.trainer.should_stop = self._task_expired_or_stopped
        self._restore(prepared.trainer)
        self.prepared = prepared
        self.settings = settings
        self.run_id = described.run_id
        descriptor = prepared.trainer.descriptor()
        self.log.info("client ready", runId=described.run_id, backend=self.config.backend, device=str(prepared.trainer.device), model=descriptor["name"],
                      family=descriptor["family"], parameters=descriptor["parameter_count"], trainSamples=prepared.trainer.num_samples,
                      testSamples=len(prepared.trainer.test_set), classes=prepared.class_names, data=prepared.source)
        self.worker = threading.Thread(target=self._work, name="pfedlora-tasks", daemon=True)
        self.worker.start()

    def _restore(self, trainer: PFedLoRATrainer) -> None:
        """The newest private state in --state-dir, if any: the personalization survives a restart."""
        saved = self.states.latest()
        if saved is None:
            return
        try:
            trainer.load_private_state(saved.tensors)
        except ValueError as e:
            # Training on would overwrite (and prune) the saved state of the model it belongs to.
            raise ClientRefused(f"{self.config.state_dir} holds the private state of another model or run ({e}); nothing was changed: "
                                "start with another --state-dir, or move its private-*.pflt files away to start this model fresh") from None
        self.trained_round = saved.round
        self.log.info("private state restored", round=saved.round, stateDir=self.config.state_dir)

    def _prepare_for(self, round_number: int, log: Logger) -> None:
        """Round r starts from the state after the last round before r: the current one (snapshot it), or, when this
        client already trained r or later (the coordinator restarted or retried the round), an earlier snapshot."""
        trainer = self.prepared.trainer
        if self.trained_round < round_number:
            self.states.save(PrivateSnapshot(self.trained_round, trainer.private_state()))
            return
        before = self.states.latest_before(round_number)
        if before is None:
            log.warn("round re-issued but no earlier private state is kept; training from the current one", trainedRound=self.trained_round)
            return
        trainer.load_private_state(before.tensors)
        self.trained_round = before.round
        log.info("private state rolled back for a re-issued round", to=before.round)

    def _join(self) -> pb.JoinResponse:
        trainer = self.prepared.trainer
        d = trainer.descriptor()
        shape = list(d["input_shape"])
        legacy = shape if len(shape) == 3 else [1, 1, int(sum(shape))]
        request = pb.JoinRequest(
            client_id=self.config.client_id,
            model_kind=str(d["name"])[:64],
            num_samples=trainer.num_samples,
            backend=self.config.backend,
            protocol_version=PROTOCOL_VERSION,
            data=pb.TensorShapeInfo(height=legacy[0], width=legacy[1], channels=legacy[2], num_classes=int(d["num_classes"])),
            credential=self.config.credential,
            model=pb.ModelDescriptor(**d),
            class_names=self.prepared.class_names,
            # The last session's token: a rejoin takes its own session over even while the coordinator
            # still counts it as connected (docs/protocol.md, "Join rules").
            resume_token=self.session.resume_token if self.session is not None else "",
        )
        response = self.stub.Join(request, timeout=15)
        if not response.session_id or response.chunk_size < 1 or response.heartbeat_interval_ms < 1:
            raise ClientRefused("the coordinator's JoinResponse lacks a session id, chunk size or heartbeat interval")
        if response.run_id != self.run_id:
            self.log.warn("the coordinator moved to another run since Describe; training with the model built for the first", runId=response.run_id)
        self.log.info("joined", runId=response.run_id, algorithm=response.config.algorithm, rounds=response.config.rounds, chunkSize=response.chunk_size)
        return response

    # ---- Subscribe, Heartbeat ----

    def _consume_events(self, session: pb.JoinResponse, rejoined: bool = False) -> None:
        """Holds the Subscribe stream until it ends. `rejoined`: this session replaces one whose link was
        lost, so a RunFinished that opens its stream means the run ended while this client was away."""
        stream = self.stub.Subscribe(pb.SubscribeRequest(session_id=session.session_id))
        self.active_stream = stream
        if self.stop.is_set():
            stream.cancel()  # shutdown() came between Join and Subscribe
        self._set_live_session(session.session_id)
        self.state = "idle"
        done = threading.Event()
        last_event = [time.monotonic()]
        interval = session.heartbeat_interval_ms / 1000.0

        def beat() -> None:
            while not done.wait(interval):
                if self.stop.is_set():
                    stream.cancel()
                    return
                if (time.monotonic() - last_event[0]) * 1000 > self.config.silence_timeout_ms:
                    self.log.warn("no word from the coordinator; reconnecting", silentMs=int((time.monotonic() - last_event[0]) * 1000))
                    stream.cancel()
                    return
                try:
                    self.stub.Heartbeat(pb.HeartbeatRequest(session_id=session.session_id, state=self.state, round=self.current_round), timeout=5)
                except grpc.RpcError as e:
                    if _code(e) == grpc.StatusCode.NOT_FOUND:
                        self.log.warn("session unknown to the coordinator; rejoining")
                        stream.cancel()
                        return

        heart = threading.Thread(target=beat, name="pfedlora-heartbeat", daemon=True)
        heart.start()
        try:
            first = True
            for event in stream:
                last_event[0] = time.monotonic()
                away, first = rejoined and first, False
                kind = event.WhichOneof("event")
                if kind == "train":
                    self._enqueue(event.train)
                elif kind == "finished":
                    self.finished = event.finished
                    self.log.info("run finished while away" if away else "run finished", runId=event.finished.run_id, roundsCompleted=event.finished.rounds_completed, reason=event.finished.reason)
        except grpc.RpcError as e:
            if _code(e) != grpc.StatusCode.CANCELLED:
                raise
        finally:
            done.set()
            heart.join()
            if self.active_stream is stream:
                self.active_stream = None
            if self.live_session == session.session_id:
                self._set_live_session(None)

    def _set_live_session(self, session_id: Optional[str]) -> None:
        with self.link:
            self.live_session = session_id
            self.link.notify_all()

    def _until_linked(self, task: pb.TrainTask) -> None:
        """Waits while this daemon holds no Subscribe stream (the link is down, the rejoin pending). A transfer
        waits for it too: an update that got through on the old session would close the round while this client
        is not subscribed, and the next round would start without it."""
        with self.link:
            while self.live_session is None and not self.stop.is_set() and not self._expired(task):
                self.link.wait(0.25)  # also wakes for the deadline, a newer task or the run's end

    def _wait_to_retry(self, used: str, attempt: int, task: pb.TrainTask) -> None:
        """After a transfer failed on session `used`: if the link is still up, back off (cut short when it goes
        down); once it is down, wait for the rejoin instead of retrying on a session that is gone."""
        delay = backoff_delay(attempt, self.config.reconnect_initial_ms, self.config.reconnect_max_ms)
        with self.link:
            if self.live_session == used:
                self.link.wait_for(lambda: self.live_session != used or self.stop.is_set(), timeout=delay)
                if self.live_session == used:
                    return
        self._until_linked(task)

    def _enqueue(self, task: pb.TrainTask) -> None:
        if task.task_id in self.seen_tasks:
            return  # re-sent after a reconnect: already queued or done
        self.seen_tasks.add(task.task_id)
        self.latest_task_id = task.task_id
        self.tasks.put(task)

    # ---- tasks ----

    def _work(self) -> None:
        while True:
            task = self.tasks.get()
            if task is None:
                return
            try:
                self._run_task(task)
            except Stopped:
                self.log.warn("task dropped: stopped or superseded during training", taskId=task.task_id, round=task.round)
            except Exception as e:  # noqa: BLE001 - one bad task must not end the daemon
                self.log.error("task failed", taskId=task.task_id, round=task.round, error=f"{type(e).__name__}: {e}")
            finally:
                self.state = "idle"

    def _task_expired_or_stopped(self) -> bool:
        return self.stop.is_set() or self.finished is not None or (self._task is not None and self._expired(self._task))

    _task: Optional[pb.TrainTask] = None

    def _expired(self, task: pb.TrainTask) -> bool:
        """Past its deadline, superseded by a newer task (the round closed or was retried), or the run finished."""
        return time.time() * 1000 > task.deadline_unix_ms or self.latest_task_id != task.task_id or self.finished is not None

    def _run_task(self, task: pb.TrainTask) -> None:
        log = self.log.child(runId=task.run_id, round=task.round, taskId=task.task_id)
        self._task = task
        self.current_round = task.round
        spec = pfedlora_spec(self.settings)
        announced = spec_of_headers(getattr(task, "global").tensors)
        if announced != spec:
            raise WireError(f"the task's global payload {announced} is not the run's {spec}")
        # 1. The global payload, resumed from the bytes already here after a break.
        self.state = "downloading"
        data = self._download(task, log)
        if data is None:
            return
        global_tensors = codec.decode(data, spec)
        # 2. Train and evaluate, from the state this round must start from.
        trainer = self.prepared.trainer
        self._prepare_for(task.round, log)
        self.state = "training"
        started = time.monotonic()
        result = trainer.fit(global_tensors, task.round)
        self.trained_round = task.round
        evaluation = trainer.evaluate()
        train_seconds = time.monotonic() - started
        log.info("trained", trainSeconds=round(train_seconds, 3), accuracy=evaluation.accuracy, macroF1=evaluation.macro_f1, loss=evaluation.loss, trainLoss=result.train_loss)
        # 3. Upload the delta only.
        self.state = "uploading"
        payload = codec.encode(result.delta)
        digest = codec.sha256_hex(payload)
        if self.config.dump_updates_dir:
            os.makedirs(self.config.dump_updates_dir, exist_ok=True)
            with open(os.path.join(self.config.dump_updates_dir, f"update-r{task.round:05d}-{task.task_id}.pflt"), "wb") as f:
                f.write(payload)
        metrics = pb.ClientMetrics(accuracy=evaluation.accuracy, macro_f1=evaluation.macro_f1, loss=evaluation.loss, test_samples=evaluation.samples,
                                   train_loss=result.train_loss, train_seconds=train_seconds, train_flops=result.train_flops)
        if self._upload(task, payload, digest, codec.spec_of(result.delta), result.num_samples, metrics, log):
            self.states.save(PrivateSnapshot(task.round, trainer.private_state()))

    def _download(self, task: pb.TrainTask, log: Logger) -> Optional[bytes]:
        ref = getattr(task, "global")
        total = ref.total_bytes
        buffer = bytearray()
        attempt = 0
        while True:
            self._until_linked(task)
            if self._expired(task) or self.stop.is_set():
                log.warn("task dropped before download finished", received=len(buffer))
                return None
            session_id = self.session.session_id
            try:
                for chunk in self.stub.Download(pb.DownloadRequest(session_id=session_id, sha256=ref.sha256, offset=len(buffer)), timeout=120):
                    if chunk.total_bytes != total:
                        raise WireError(f"the coordinator sends {chunk.total_bytes} bytes for payload {ref.sha256}, the task said {total}")
                    if chunk.offset != len(buffer):
                        raise WireError(f"chunk at offset {chunk.offset}, expected {len(buffer)}")
                    if len(buffer) + len(chunk.data) > total:
                        raise WireError(f"payload {ref.sha256} runs past its {total} bytes")
                    buffer += chunk.data
                if len(buffer) == total:
                    break
                log.warn("download ended early; resuming", received=len(buffer), total=total)
                self.stop.wait(backoff_delay(attempt, self.config.reconnect_initial_ms, self.config.reconnect_max_ms))
            except grpc.RpcError as e:
                if _code(e) not in TRANSIENT and _code(e) != grpc.StatusCode.NOT_FOUND:
                    raise
                log.warn("download interrupted; resuming", received=len(buffer), error=_details(e), linkUp=self.live_session == session_id)
                self._wait_to_retry(session_id, attempt, task)
            attempt += 1
        data = bytes(buffer)
        if codec.sha256_hex(data) != ref.sha256:
            raise WireError(f"downloaded payload's sha256 {codec.sha256_hex(data)} is not the task's {ref.sha256}")
        return data

    def _upload(self, task: pb.TrainTask, payload: bytes, digest: str, spec, num_samples: int, metrics: pb.ClientMetrics, log: Logger) -> bool:
        """Sends the update until it is accepted or counted (True) or cannot be (False); docs/protocol.md,
        "Status codes", says what each answer means for the task."""
        attempt = 0
        while True:
            self._until_linked(task)
            if self._expired(task) or self.stop.is_set():
                log.warn("task dropped: deadline passed, superseded or stopped before the upload got through")
                return False
            session = self.session
            header = pb.UploadHeader(session_id=session.session_id, run_id=task.run_id, round=task.round, task_id=task.task_id, sha256=digest,
                                     total_bytes=len(payload), tensors=headers(spec), num_samples=num_samples, metrics=metrics)
            chunks = codec.split_chunks(payload, session.chunk_size)

            def messages() -> Iterator[pb.UploadMessage]:
                yield pb.UploadMessage(header=header)
                for c in chunks:
                    yield pb.UploadMessage(chunk=c)

            try:
                ack = self.stub.Upload(messages(), timeout=120)
                self.rounds_trained += 1
                log.info("update uploaded", bytes=len(payload), sha256=digest, ack=ack.message)
                return True
            except grpc.RpcError as e:
                code = _code(e)
                details = _details(e)
                verdict = upload_verdict(code, details)
                if verdict == "counted":
                    self.rounds_trained += 1
                    log.info("update already reported (an earlier attempt got through)", ack=details)
                    return True
                if verdict == "stale":
                    log.warn("stale upload dropped: the round closed or the task was cancelled", error=details)
                    return False
                if verdict == "refused":
                    log.warn("update refused", code=code.name if code else None, error=details)
                    if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED) and self.active_stream is not None:
                        self.active_stream.cancel()  # rejoin: the coordinator says there whether this client may stay
                    return False
                # Interrupted, or the coordinator still closing a broken attempt: once the link is back one retry
                # tells which (accepted, counted or stale), instead of a retry on every backoff.
                log.warn("upload interrupted; retrying", code=code.name if code else None, error=details, linkUp=self.live_session == session.session_id)
                self._wait_to_retry(session.session_id, attempt, task)
                attempt += 1
