"""The daemon against a scripted in-process coordinator: the lifecycle of docs/protocol.md
(Describe before Join, Subscribe, Heartbeat), a download broken mid-stream and resumed from
the bytes held, an upload refused with ABORTED and sent again, chunks of the coordinator's
size, RunFinished, and a refusal that ends the client (exit 4)."""
import threading
import time
import unittest
from concurrent import futures

import grpc
import numpy as np
import torch
from torch import nn

import _paths  # noqa: F401
from pfedlora_client import codec
from pfedlora_client._proto import federation_pb2 as pb
from pfedlora_client._proto import federation_pb2_grpc as pb_grpc
from pfedlora_client.client import EXIT_OK, EXIT_REFUSED, ClientConfig, Daemon, Prepared, backoff_delay, upload_verdict
from pfedlora_client.codec import Tensor
from pfedlora_client.log import Logger
from pfedlora_client.trainer import PFedLoRATrainer

D, R, C = 6, 2, 3
CHUNK = 40


def run_config():
    return pb.RunConfig(algorithm="pfedlora", rank=R, adapter_alpha=2.0, local_epochs=1, batch_size=8, learning_rate=0.05, momentum=0.9,
                        weight_decay=1e-3, clip_norm=50, rounds=1, seed=5, adapter_epochs=2, adapter_share="all",
                        contract=pb.AdapterContract(representation_dim=D, class_names=["a", "b", "c"], input_shape=[4], plug_point="representation"))


class ScriptedCoordinator(pb_grpc.FederationServicer):
    """One client, one round: the first Download breaks after one chunk, the first Upload is ABORTED."""

    def __init__(self, refuse_join=False):
        self.calls = []
        self.refuse_join = refuse_join
        self.global_bytes = codec.encode([Tensor("adapter/down", np.full((D, R), 0.1, np.float32)), Tensor("adapter/up", np.zeros((R, C), np.float32))])
        self.sha = codec.sha256_hex(self.global_bytes)
        self.download_offsets = []
        self.uploads = []
        self.heartbeats = 0
        self.uploaded = False
        self.done = threading.Event()

    def Describe(self, request, context):
        self.calls.append("Describe")
        return pb.DescribeResponse(run_id="run-1", config=run_config())

    def Join(self, request, context):
        self.calls.append("Join")
        self.join_request = request
        if self.refuse_join:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "client py's data has class \"zebra\" outside run run-1's 3 classes")
        return pb.JoinResponse(session_id="s-1", run_id="run-1", config=run_config(), heartbeat_interval_ms=50, chunk_size=CHUNK)

    def Subscribe(self, request, context):
        self.calls.append("Subscribe")
        task = pb.TrainTask(run_id="run-1", round=1, task_id="r1a1-py-x", deadline_unix_ms=int(time.time() * 1000) + 60_000)
        getattr(task, "global").CopyFrom(pb.PayloadRef(sha256=self.sha, total_bytes=len(self.global_bytes),
                                                       tensors=[pb.TensorHeader(name="adapter/down", dtype="float32", shape=[D, R]), pb.TensorHeader(name="adapter/up", dtype="float32", shape=[R, C])]))
        yield pb.ServerEvent(train=task)
        yield pb.ServerEvent(train=task)  # re-sent: the client must ignore it
        while not self.done.wait(0.05):
            yield pb.ServerEvent(ping=pb.Ping(unix_ms=int(time.time() * 1000)))
        yield pb.ServerEvent(finished=pb.RunFinished(run_id="run-1", rounds_completed=1, reason="run completed"))

    def Download(self, request, context):
        self.download_offsets.append(request.offset)
        data = self.global_bytes
        first = len(self.download_offsets) == 1
        for at in range(request.offset, len(data), CHUNK):
            yield pb.PayloadChunk(offset=at, data=data[at : at + CHUNK], total_bytes=len(data))
            if first:
                context.abort(grpc.StatusCode.UNAVAILABLE, "link broke")

    def Upload(self, request_iterator, context):
        messages = list(request_iterator)
        self.uploads.append(messages)
        if len(self.uploads) == 1:
            context.abort(grpc.StatusCode.ABORTED, "an upload for task r1a1-py-x is already in progress")
        self.uploaded = True
        if self.heartbeats > 0:
            self.done.set()
        return pb.UploadAck(accepted=True, message="update accepted")

    def Heartbeat(self, request, context):
        self.heartbeats += 1
        if self.uploaded:
            self.done.set()  # the run ends once the update is in and the client has heartbeaten
        return pb.HeartbeatResponse(unix_ms=int(time.time() * 1000))


class CutLinkCoordinator(ScriptedCoordinator):
    """The link breaks as the first upload starts: that Upload fails UNAVAILABLE, the old session is gone
    (NOT_FOUND from then on) and its Subscribe stream ends within ~50 ms. The rejoin is slow (the second Join
    takes 0.6 s): a client that retried on its backoff (10-50 ms) instead of waiting for the rejoin would send
    on the dead session a dozen times or more before it."""

    def __init__(self):
        super().__init__()
        self.cut = threading.Event()
        self.joins = 0
        self.subscribed = []

    def Join(self, request, context):
        self.calls.append("Join")
        self.joins += 1
        if self.joins > 1:
            time.sleep(0.6)
        return pb.JoinResponse(session_id=f"s-{self.joins}", run_id="run-1", config=run_config(), heartbeat_interval_ms=50, chunk_size=CHUNK,
                               resume_token=f"t-{self.joins}")

    def Subscribe(self, request, context):
        self.calls.append("Subscribe")
        self.subscribed.append((request.session_id, len(self.uploads)))
        if request.session_id == "s-1":
            task = pb.TrainTask(run_id="run-1", round=1, task_id="r1a1-py-x", deadline_unix_ms=int(time.time() * 1000) + 60_000)
            getattr(task, "global").CopyFrom(pb.PayloadRef(sha256=self.sha, total_bytes=len(self.global_bytes),
                                                           tensors=[pb.TensorHeader(name="adapter/down", dtype="float32", shape=[D, R]), pb.TensorHeader(name="adapter/up", dtype="float32", shape=[R, C])]))
            yield pb.ServerEvent(train=task)
            while not self.cut.wait(0.05):
                yield pb.ServerEvent(ping=pb.Ping(unix_ms=int(time.time() * 1000)))
            return  # the link is gone
        while not self.done.wait(0.05):
            yield pb.ServerEvent(ping=pb.Ping(unix_ms=int(time.time() * 1000)))
        yield pb.ServerEvent(finished=pb.RunFinished(run_id="run-1", rounds_completed=1, reason="run completed"))

    def Download(self, request, context):
        data = self.global_bytes
        for at in range(request.offset, len(data), CHUNK):
            yield pb.PayloadChunk(offset=at, data=data[at : at + CHUNK], total_bytes=len(data))

    def Upload(self, request_iterator, context):
        messages = list(request_iterator)
        self.uploads.append(messages)
        session = messages[0].header.session_id
        if len(self.uploads) == 1:
            self.cut.set()
            context.abort(grpc.StatusCode.UNAVAILABLE, "link broke")
        if session == "s-1" or session != f"s-{self.joins}":
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown session {session}")
        self.uploaded = True
        self.done.set()
        return pb.UploadAck(accepted=True, message="update accepted")


def build(settings, client_seed):
    torch.manual_seed(0)
    x = torch.randn(24, 4)
    y = torch.arange(24) % 3
    trainer = PFedLoRATrainer(nn.Sequential(nn.Linear(4, D), nn.ReLU()), nn.Linear(D, C), (x, y), (x[:6], y[:6]), settings, client_seed, torch.device("cpu"), name="tiny")
    return Prepared(trainer, ["a", "b", "c"], "memory")


class Quiet:
    def write(self, _):
        pass

    def flush(self):
        pass


def serve(servicer):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_FederationServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def run_daemon(coordinator, **config):
    """Runs a daemon against `coordinator` served on 127.0.0.1 until it exits; its exit code and the daemon."""
    server, port = serve(coordinator)
    try:
        daemon = Daemon(ClientConfig(f"127.0.0.1:{port}", "py-x", **config), build, Logger(stream=Quiet()))
        return daemon.run(), daemon
    finally:
        server.stop(0)


class DaemonTest(unittest.TestCase):
    def test_one_round_with_a_broken_download_and_a_refused_upload(self):
        coordinator = ScriptedCoordinator()
        code, daemon = run_daemon(coordinator, reconnect_initial_ms=10, reconnect_max_ms=50)
        self.assertEqual(code, EXIT_OK)
        self.assertEqual(coordinator.calls[:3], ["Describe", "Join", "Subscribe"])
        self.assertEqual(coordinator.download_offsets, [0, CHUNK], "the second Download resumes from the bytes held")
        join = coordinator.join_request
        self.assertEqual((join.protocol_version, join.num_samples, join.model.family, join.model.representation_dim, join.model.num_classes, list(join.class_names)),
                         (2, 24, "torch", D, C, ["a", "b", "c"]))
        self.assertEqual(len(coordinator.uploads), 2, "an ABORTED upload is sent again")
        messages = coordinator.uploads[1]
        header = messages[0].header
        payload = b"".join(m.chunk for m in messages[1:])
        self.assertTrue(all(m.WhichOneof("kind") == "chunk" and 0 < len(m.chunk) <= CHUNK for m in messages[1:]))
        self.assertEqual((header.run_id, header.round, header.task_id, header.num_samples), ("run-1", 1, "r1a1-py-x", 24))
        self.assertEqual((header.total_bytes, header.sha256), (len(payload), codec.sha256_hex(payload)))
        self.assertEqual([(t.name, t.dtype, list(t.shape)) for t in header.tensors], [("adapter/down", "float32", [D, R]), ("adapter/up", "float32", [R, C])])
        delta = codec.decode(payload)
        self.assertTrue(all(t.values.any() for t in delta))
        self.assertTrue(0 <= header.metrics.accuracy <= 1 and header.metrics.test_samples == 6 and header.metrics.train_flops > 0)
        self.assertGreater(coordinator.heartbeats, 0)
        self.assertEqual(daemon.rounds_trained, 1)

    def test_a_refused_join_ends_the_client(self):
        coordinator = ScriptedCoordinator(refuse_join=True)
        code, _ = run_daemon(coordinator, reconnect_initial_ms=10)
        self.assertEqual(code, EXIT_REFUSED)
        self.assertEqual(coordinator.calls, ["Describe", "Join"])

    def test_an_upload_cut_off_is_sent_once_more_after_the_rejoin(self):
        coordinator = CutLinkCoordinator()
        code, daemon = run_daemon(coordinator, reconnect_initial_ms=10, reconnect_max_ms=50)
        self.assertEqual(code, EXIT_OK)
        sessions = [m[0].header.session_id for m in coordinator.uploads]
        # A retry may still go out before the client sees its stream end (a backoff of 10-50 ms against a stream
        # that ends within ~50 ms, longer on a loaded machine); after that, none until the rejoin.
        dead = sessions[1:].count("s-1")
        self.assertLessEqual(dead, 3, f"the retry waits for the rejoin instead of backing off on the dead session: {sessions}")
        self.assertEqual(sessions[-1], "s-2", "sent once more on the new session")
        self.assertEqual(sessions.count("s-2"), 1)
        self.assertEqual(coordinator.subscribed[1][0], "s-2")
        self.assertLessEqual(coordinator.subscribed[1][1], len(sessions) - 1, "the new session's upload comes after its Subscribe stream")
        self.assertEqual(daemon.rounds_trained, 1)

    def test_upload_verdicts_follow_the_status_codes(self):
        S = grpc.StatusCode
        self.assertEqual(upload_verdict(S.ABORTED, "duplicate upload for task t: already counted"), "counted")
        self.assertEqual(upload_verdict(S.ABORTED, "an upload for task t is already in progress"), "retry")
        self.assertEqual(upload_verdict(S.FAILED_PRECONDITION, "round 3 is closed"), "stale")
        self.assertEqual(upload_verdict(S.NOT_FOUND, "unknown session"), "retry")
        self.assertEqual(upload_verdict(S.UNAVAILABLE, "link broke"), "retry")
        self.assertEqual(upload_verdict(S.INVALID_ARGUMENT, "NaN in adapter/up"), "refused")
        self.assertEqual(upload_verdict(S.PERMISSION_DENIED, "revoked"), "refused")

    def test_backoff_doubles_with_equal_jitter(self):
        self.assertEqual(backoff_delay(0, 250, 10_000, lambda: 0.0), 0.125)
        self.assertEqual(backoff_delay(3, 250, 10_000, lambda: 1.0), 2.0)
        self.assertEqual(backoff_delay(30, 250, 10_000, lambda: 0.5), 7.5)


if __name__ == "__main__":
    unittest.main()
