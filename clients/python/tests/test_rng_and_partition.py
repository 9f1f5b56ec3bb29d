"""The ported PRNG, seed derivation, adapter init, Gamma and Dirichlet draws, and the label-skew and Dirichlet
partitions against what the TypeScript side computed (scripts/make-python-client-fixtures.js)."""
import hashlib
import json
import os
import unittest

import numpy as np

from _paths import FIXTURES, REPO
from pfedlora_client.data import FASHION_MNIST_CLASSES, DataError, ShardSpec, cap_samples, load_client_data, load_idx_dir, parse_shard, partition_shards
from pfedlora_client.rng import Mulberry32, derive_seed, dirichlet, gamma, initial_adapter


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def digest(indices):
    return hashlib.sha256(",".join(str(int(i)) for i in indices).encode()).hexdigest()


class Rng(unittest.TestCase):
    def test_mulberry32_draws(self):
        for case in fixture("rng.json")["mulberry32"]:
            with self.subTest(seed=case["seed"]):
                r = Mulberry32(case["seed"])
                self.assertEqual([r.next() for _ in case["draws"]], case["draws"])

    def test_derive_seed(self):
        for case in fixture("rng.json")["deriveSeed"]:
            with self.subTest(case=case):
                self.assertEqual(derive_seed(case["seed"], *case["parts"]), case["value"])

    def test_initial_adapter(self):
        case = fixture("rng.json")["initialAdapter"]
        down, up = initial_adapter(case["d"], case["r"], case["c"], case["seed"])
        self.assertEqual(down.shape, (case["d"], case["r"]))
        self.assertEqual(down.reshape(-1).tolist(), np.array(case["down"], dtype=np.float32).tolist())
        self.assertFalse(up.any())

    def test_gamma_and_dirichlet_draws(self):
        # The same steps as random.ts; libm's log, cos and pow may differ from V8's by an ulp.
        for case in fixture("rng.json")["gamma"]:
            r = Mulberry32(case["seed"])
            got = [gamma(r, case["shape"]) for _ in case["draws"]]
            for g, want in zip(got, case["draws"]):
                with self.subTest(shape=case["shape"]):
                    self.assertAlmostEqual(g, want, delta=1e-12 * max(1.0, abs(want)))
        for case in fixture("rng.json")["dirichlet"]:
            r = Mulberry32(case["seed"])
            for want in case["draws"]:
                got = dirichlet(r, case["alpha"], case["k"])
                with self.subTest(alpha=case["alpha"]):
                    self.assertEqual(len(got), case["k"])
                    for g, w in zip(got, want):
                        self.assertAlmostEqual(g, w, delta=1e-12)


SUBSET = os.path.join(REPO, "packages", "ml", "data", "fashion-mnist-subset")


class Partition(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.train, cls.test = load_idx_dir(SUBSET)

    def test_shards_equal_the_typescript_partition(self):
        cases = fixture("partition.json")["shards"]
        self.assertEqual({c["partition"] for c in cases}, {"label-skew", "dirichlet"})
        by_setup = {}
        for case in cases:
            by_setup.setdefault((case["partition"], case["clients"], case["classesPerClient"], case["dirichletAlpha"], case["partitionSeed"], case["maxSamples"]), []).append(case)
        for (partition, clients, per, alpha, seed, cap), shards in by_setup.items():
            parts = partition_shards(self.train.labels, self.test.labels, ShardSpec(0, clients, per, seed, partition, alpha), 10)
            for case in shards:
                with self.subTest(partition=partition, clients=clients, classes=per, alpha=alpha, seed=seed, cap=cap, shard=case["index"]):
                    part = parts[case["index"]]
                    self.assertEqual(part.classes, case["classes"])
                    train = cap_samples(part.train, cap)
                    self.assertEqual((len(train), digest(train)), (case["train"]["count"], case["train"]["sha256"]))
                    self.assertEqual((len(part.test), digest(part.test)), (case["test"]["count"], case["test"]["sha256"]))

    def test_load_client_data_cuts_the_shard(self):
        data = load_client_data(SUBSET, FASHION_MNIST_CLASSES, shard=ShardSpec(2, 3), max_train_samples=160)
        self.assertEqual(len(data.train), 160)
        self.assertEqual(data.train.images.shape[1:], (1, 28, 28))
        self.assertEqual(data.train.images.dtype, np.float32)
        self.assertLessEqual(float(data.train.images.max()), 1.0)
        self.assertEqual(len(data.class_names), 2)

    def test_load_client_data_cuts_a_dirichlet_shard(self):
        data = load_client_data(SUBSET, FASHION_MNIST_CLASSES, shard=ShardSpec(1, 3, partition="dirichlet", dirichlet_alpha=0.5))
        parts = partition_shards(self.train.labels, self.test.labels, ShardSpec(1, 3, partition="dirichlet", dirichlet_alpha=0.5), 10)
        self.assertEqual(len(data.train), len(parts[1].train))
        self.assertEqual(data.class_names, [FASHION_MNIST_CLASSES[c] for c in parts[1].classes])
        self.assertIn("shard 1/3 (dirichlet)", data.source)
        with self.assertRaisesRegex(DataError, "10000 train samples cannot give 2000 clients 10 each"):
            load_client_data(SUBSET, FASHION_MNIST_CLASSES, shard=ShardSpec(0, 2000, partition="dirichlet", dirichlet_alpha=0.5))

    def test_labels_map_by_name(self):
        renamed = list(reversed(FASHION_MNIST_CLASSES))
        data = load_client_data(SUBSET, FASHION_MNIST_CLASSES, file_class_names=renamed, max_train_samples=50)
        self.assertTrue(np.array_equal(data.train.labels, 9 - cap_samples(self.train.labels, 50)))
        with self.assertRaisesRegex(ValueError, 'class "zebra" is not one of this run\'s 10 classes'):
            load_client_data(SUBSET, FASHION_MNIST_CLASSES, file_class_names=["zebra"] + FASHION_MNIST_CLASSES[1:])

    def test_parse_shard(self):
        self.assertEqual(parse_shard("2/3"), (2, 3))
        for bad in ("3/3", "a/b", "1", "-1/2"):
            with self.subTest(bad), self.assertRaises(ValueError):
                parse_shard(bad)


if __name__ == "__main__":
    unittest.main()
