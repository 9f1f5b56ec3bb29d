"""--state-dir: the private state store (atomic files, the newest three, a corrupt one skipped), the
trainer's snapshot (restored, the next round trains exactly as without the restart), and the daemon
restarting from it against a scripted coordinator."""
import io
import json
import os
import tempfile
import unittest

import numpy as np
import torch
from torch import nn

import _paths  # noqa: F401
from pfedlora_client.client import EXIT_OK, ClientConfig, Daemon, Prepared
from pfedlora_client.codec import Tensor
from pfedlora_client.log import Logger
from pfedlora_client.state import PrivateSnapshot, PrivateStateStore
from pfedlora_client.trainer import PFedLoRATrainer
from pfedlora_client.wire import run_settings
from test_daemon import C, D, R, ScriptedCoordinator, run_config, serve


def snapshot(round_number):
    return PrivateSnapshot(round_number, [Tensor("w", np.full((2, 3), round_number, np.float32))])


def captured():
    stream = io.StringIO()
    return Logger(stream=stream), lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


class Store(unittest.TestCase):
    def test_keeps_the_newest_three_and_finds_the_state_before_a_round(self):
        with tempfile.TemporaryDirectory(prefix="pfedlora-state-") as folder:
            log, _ = captured()
            store = PrivateStateStore(folder, log)
            for r in range(5):
                store.save(snapshot(r))
            self.assertEqual(sorted(os.listdir(folder)), ["private-00002.pflt", "private-00003.pflt", "private-00004.pflt"])
            self.assertEqual(store.latest().round, 4)
            self.assertEqual(store.latest_before(4).round, 3)
            # A new process sees the same files.
            again = PrivateStateStore(folder, log)
            self.assertEqual(again.latest_before(3).round, 2)
            self.assertIsNone(again.latest_before(2))
            self.assertEqual(again.latest().tensors[0].values.tolist(), [[4.0] * 3] * 2)

    def test_a_corrupt_snapshot_falls_back_to_the_one_before(self):
        with tempfile.TemporaryDirectory(prefix="pfedlora-state-") as folder:
            log, lines = captured()
            store = PrivateStateStore(folder, log)
            store.save(snapshot(1))
            store.save(snapshot(2))
            with open(os.path.join(folder, "private-00002.pflt"), "r+b") as f:
                f.truncate(20)
            self.assertEqual(PrivateStateStore(folder, log).latest().round, 1)
            self.assertEqual(lines()[-1]["message"], "private state unreadable; falling back to an older one")

    def test_without_a_folder_it_keeps_snapshots_in_memory(self):
        store = PrivateStateStore(None, Logger(stream=io.StringIO()))
        for r in range(4):
            store.save(snapshot(r))
        self.assertEqual([s.round for s in store.memory], [1, 2, 3])
        self.assertEqual(store.latest_before(3).round, 2)
        self.assertIsNone(store.latest())


def tiny_trainer(init_seed, width=D):
    torch.manual_seed(0)
    x = torch.randn(24, 4)
    y = torch.arange(24) % 3
    torch.manual_seed(init_seed)
    extractor = nn.Sequential(nn.Linear(4, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, D))
    settings = run_settings(run_config())
    return PFedLoRATrainer(extractor, nn.Linear(D, C), (x, y), (x[:6], y[:6]), settings, 7, torch.device("cpu"), name="tiny")


def global_adapter(fill):
    return [Tensor("adapter/down", np.full((D, R), fill, np.float32)), Tensor("adapter/up", np.full((R, C), fill / 2, np.float32))]


class TrainerState(unittest.TestCase):
    def test_a_restored_trainer_trains_the_next_round_exactly_as_the_original(self):
        original = tiny_trainer(1)
        original.fit(global_adapter(0.1), 1)
        saved = original.private_state()
        self.assertIn("optimizer/momentum/0", [t.name for t in saved])
        self.assertIn("model/extractor/1.num_batches_tracked", [t.name for t in saved])
        restored = tiny_trainer(2)  # another init: everything must come from the snapshot
        restored.load_private_state(saved)
        self.assertEqual([t.values.tobytes() for t in restored.private_state()], [t.values.tobytes() for t in saved])
        a, b = original.fit(global_adapter(0.2), 2), restored.fit(global_adapter(0.2), 2)
        self.assertEqual([t.values.tobytes() for t in a.delta], [t.values.tobytes() for t in b.delta])
        self.assertEqual(original.evaluate(), restored.evaluate())

    def test_a_snapshot_of_another_model_is_refused_and_changes_nothing(self):
        trainer = tiny_trainer(1)
        before = [t.values.tobytes() for t in trainer.private_state()]
        other = tiny_trainer(1, width=D + 1).private_state()
        with self.assertRaisesRegex(ValueError, r"the private state is not this model's: other shapes: model/extractor/0.weight \[7, 4\] \(expected \[6, 4\]\)"):
            trainer.load_private_state(other)
        with self.assertRaisesRegex(ValueError, "missing adapter/up"):
            trainer.load_private_state([t for t in trainer.private_state() if t.name != "adapter/up"])
        self.assertEqual([t.values.tobytes() for t in trainer.private_state()], before)


def build_with(init_seed):
    return lambda settings, client_seed: Prepared(tiny_trainer(init_seed), ["a", "b", "c"], "memory")


def run_once(folder, init_seed, log):
    """One daemon, one scripted round; returns the accepted upload's payload."""
    coordinator = ScriptedCoordinator()
    server, port = serve(coordinator)
    try:
        daemon = Daemon(ClientConfig(f"127.0.0.1:{port}", "py-x", reconnect_initial_ms=10, reconnect_max_ms=50, state_dir=folder), build_with(init_seed), log)
        assert daemon.run() == EXIT_OK
    finally:
        server.stop(0)
    return b"".join(m.chunk for m in coordinator.uploads[-1][1:])


class DaemonState(unittest.TestCase):
    def test_a_restarted_daemon_resumes_from_its_state_dir_and_rolls_back_for_a_reissued_round(self):
        with tempfile.TemporaryDirectory(prefix="pfedlora-state-") as folder:
            first = run_once(folder, 3, Logger(stream=io.StringIO()))
            # The state before round 1, and after it once the update was accepted.
            self.assertEqual(sorted(os.listdir(folder)), ["private-00000.pflt", "private-00001.pflt"])
            # Restarted with another model init, and the coordinator sends round 1 again (it restarted too):
            # the client restores round 1's state, rolls back to round 0's and trains round 1 exactly again.
            log, lines = captured()
            second = run_once(folder, 4, log)
            messages = [(l["message"], l.get("round"), l.get("to")) for l in lines()]
            self.assertIn(("private state restored", 1, None), messages)
            self.assertIn(("private state rolled back for a re-issued round", 1, 0), messages)
            self.assertEqual(second, first)
            # Without the state dir, the other init trains another update.
            self.assertNotEqual(run_once(None, 4, Logger(stream=io.StringIO())), first)


if __name__ == "__main__":
    unittest.main()
