"""The PyTorch pFedLoRA trainer: the adapter branch, the two steps, the delta and what is shared."""
import unittest

import numpy as np
import torch
from torch import nn

import _paths  # noqa: F401
from pfedlora_client.codec import Tensor
from pfedlora_client.rng import derive_seed, initial_adapter
from pfedlora_client.trainer import ContractError, PFedLoRATrainer, macro_f1
from pfedlora_client.wire import RunSettings, pfedlora_spec

D, R, C = 6, 2, 3


def settings(**overrides):
    base = dict(algorithm="pfedlora", representation_dim=D, class_names=("a", "b", "c"), input_shape=(4,), plug_point="representation", rank=R,
                adapter_alpha=4.0, local_epochs=2, adapter_epochs=3, adapter_share="all", batch_size=8, learning_rate=0.05, momentum=0.9,
                weight_decay=1e-3, clip_norm=50.0, rounds=3, seed=5)
    base.update(overrides)
    return RunSettings(**base)


def data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return x, y


def trainer(s=None, seed=0):
    torch.manual_seed(seed)
    extractor = nn.Sequential(nn.Linear(4, D), nn.ReLU())
    head = nn.Linear(D, C)
    return PFedLoRATrainer(extractor, head, data(), data(20, 1), s or settings(), client_seed=77, device=torch.device("cpu"), name="mlp")


def global_adapter(s, seed=3):
    down, up = initial_adapter(D, R, C, seed)
    up = np.full_like(up, 0.01)
    tensors = {"adapter/down": down, "adapter/up": up}
    return [Tensor(name, tensors[name]) for name, _ in pfedlora_spec(s)]


class Trainer(unittest.TestCase):
    def test_logits_are_head_plus_the_scaled_low_rank_branch(self):
        t = trainer()
        t.load_global(global_adapter(t.settings))
        x, _ = data(5)
        with torch.no_grad():
            h = t.extractor(x)
            want = t.head(h) + (4.0 / R) * (h @ t.down @ t.up)
            got = t.head(h) + t.adapter_logits(h)
        self.assertTrue(torch.allclose(got, want))

    def test_step_one_leaves_the_adapter_and_step_two_the_model(self):
        t = trainer()
        g = global_adapter(t.settings)
        seen = {}
        original = t._frozen_outputs

        def spy():
            # Step 1 is over: the adapter is still the global one; remember the model.
            seen["down"] = t.down.clone()
            seen["up"] = t.up.clone()
            seen["model"] = [p.detach().clone() for p in t.model_params]
            return original()

        t._frozen_outputs = spy
        before = [p.detach().clone() for p in t.model_params]
        result = t.fit(g, 1)
        self.assertTrue(np.array_equal(seen["down"].numpy(), g[0].values))
        self.assertTrue(np.array_equal(seen["up"].numpy(), g[1].values))
        self.assertTrue(any(not torch.equal(a, b) for a, b in zip(before, seen["model"])), "step 1 trains the model")
        self.assertTrue(all(torch.equal(a, b.detach()) for a, b in zip(seen["model"], t.model_params)), "step 2 leaves the model")
        # The delta is the local adapter minus the received one, both factors.
        self.assertEqual([d.name for d in result.delta], ["adapter/down", "adapter/up"])
        self.assertTrue(np.allclose(result.delta[0].values, t.down.numpy() - g[0].values))
        self.assertTrue(np.allclose(result.delta[1].values, t.up.numpy() - g[1].values))
        self.assertTrue(all(d.values.dtype == np.float32 and d.values.any() for d in result.delta))
        self.assertEqual(result.num_samples, 40)
        self.assertGreater(result.train_flops, 0)
        self.assertTrue(np.isfinite(result.train_loss))

    def test_share_up_uploads_u_only_and_keeps_its_own_d(self):
        s = settings(adapter_share="up")
        t = trainer(s)
        own_down = initial_adapter(D, R, C, derive_seed(77, "private-adapter"))[0]
        self.assertTrue(np.array_equal(t.down.numpy(), own_down))
        g = global_adapter(s)
        self.assertEqual([x.name for x in g], ["adapter/up"])
        result = t.fit(g, 1)
        self.assertEqual([(d.name, d.shape) for d in result.delta], [("adapter/up", (R, C))])
        self.assertFalse(np.array_equal(t.down.numpy(), own_down), "the private D trains too")

    def test_a_round_repeats_exactly_from_the_same_state(self):
        results = []
        for _ in range(2):
            t = trainer(seed=1)
            results.append(t.fit(global_adapter(t.settings), 2).delta)
        for a, b in zip(*results):
            self.assertEqual(a.values.tobytes(), b.values.tobytes())

    def test_evaluate_and_descriptor(self):
        t = trainer()
        e = t.evaluate()
        self.assertEqual(e.samples, 20)
        self.assertTrue(0 <= e.accuracy <= 1 and np.isfinite(e.loss))
        self.assertTrue(0 <= e.macro_f1 <= 1)
        d = t.descriptor()
        self.assertEqual((d["family"], d["name"], d["representation_dim"], d["num_classes"], d["input_shape"]), ("torch", "mlp", D, C, [4]))
        self.assertEqual(d["parameter_count"], 4 * D + D + D * C + C)
        self.assertGreater(d["train_flops_per_sample"], 0)

    def test_macro_f1_follows_the_typescript_convention(self):
        # The cases of packages/core/src/eval-metrics.test.ts: same convention, same numbers.
        self.assertEqual(macro_f1([0, 1, 1], [0, 1, 1], 5), 1.0)  # classes absent everywhere left out
        self.assertAlmostEqual(macro_f1([0, 0, 1], [0, 0, 0], 2), 0.4)  # spam predicted, never true: F1 0
        self.assertAlmostEqual(macro_f1([0, 0, 0, 0], [0, 0, 0, 1], 2), 3 / 7)  # the majority class
        self.assertEqual(macro_f1([], [], 3), 0.0)

    def test_refuses_a_model_that_does_not_meet_the_contract(self):
        with self.assertRaisesRegex(ContractError, "representation h is \\[5\\], the run requires d = 6"):
            PFedLoRATrainer(nn.Linear(4, 5), nn.Linear(5, C), data(), data(), settings(), 1, torch.device("cpu"))
        with self.assertRaisesRegex(ContractError, "head gives \\[4\\] outputs, the run requires C = 3"):
            PFedLoRATrainer(nn.Linear(4, D), nn.Linear(D, 4), data(), data(), settings(), 1, torch.device("cpu"))
        with self.assertRaisesRegex(ContractError, "pfedlora only"):
            PFedLoRATrainer(nn.Linear(4, D), nn.Linear(D, C), data(), data(), settings(algorithm="fedproto"), 1, torch.device("cpu"))

    def test_zoo_cnn1_matches_the_typescript_sizes(self):
        from pfedlora_client.zoo import zoo_model

        extractor, head = zoo_model("cnn1", (1, 28, 28), 500, 10, seed=1)
        count = sum(p.numel() for p in list(extractor.parameters()) + list(head.parameters()))
        # zoo.ts cnn1 on 28x28x1: conv 5x5x1x16, conv 5x5x16x32, fc1 512x2000, fc2 2000x500, fc3 500x10, with biases.
        self.assertEqual(count, (25 * 16 + 16) + (25 * 16 * 32 + 32) + (512 * 2000 + 2000) + (2000 * 500 + 500) + (500 * 10 + 10))
        self.assertEqual(tuple(extractor(torch.zeros(2, 1, 28, 28)).shape), (2, 500))


if __name__ == "__main__":
    unittest.main()
