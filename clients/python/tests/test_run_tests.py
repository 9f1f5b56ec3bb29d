"""tools/run_tests.py, the runner .ci/run reads counts from: each test method counts once, whatever its subtests."""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

from _paths import PACKAGE_ROOT

RUNNER = os.path.join(PACKAGE_ROOT, "tools", "run_tests.py")

SAMPLE = textwrap.dedent(
    """
    import unittest

    class Sample(unittest.TestCase):
        def test_passes(self):
            self.assertTrue(True)

        def test_fails(self):
            self.assertEqual(1, 2)

        def test_errors(self):
            raise RuntimeError("boom")

        def test_one_subtest_fails(self):
            for i in range(3):
                with self.subTest(i=i):
                    self.assertNotEqual(i, 1)

        def test_subtests_pass(self):
            for i in range(3):
                with self.subTest(i=i):
                    self.assertGreaterEqual(i, 0)

        @unittest.skip("not here")
        def test_skipped(self):
            pass

    class BrokenSetup(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            raise RuntimeError("no fixture")

        def test_never_runs(self):
            pass
    """
)


def run_on(files):
    with tempfile.TemporaryDirectory(prefix="pfedlora-runner-") as folder:
        for name, text in files.items():
            with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
                f.write(text)
        out = os.path.join(folder, "counts.json")
        done = subprocess.run([sys.executable, RUNNER, "--dir", folder, "--json", out], capture_output=True, text=True, timeout=60)
        with open(out, encoding="utf-8") as f:
            return done.returncode, json.load(f), done.stderr


class Runner(unittest.TestCase):
    def test_counts_each_test_once_and_fails_on_any_failure(self):
        code, counts, _ = run_on({"test_sample.py": SAMPLE, "test_broken_import.py": "import no_such_module_here\n"})
        self.assertEqual(code, 1)
        by_name = {t["name"].split(".")[-1]: t["status"] for t in counts["tests"]}
        self.assertEqual(by_name["test_passes"], "passed")
        self.assertEqual(by_name["test_subtests_pass"], "passed")
        self.assertEqual(by_name["test_skipped"], "skipped")
        for failed in ("test_fails", "test_errors", "test_one_subtest_fails"):
            self.assertEqual(by_name[failed], "failed", failed)
        # The setUpClass error and the module that does not import count as one failed test each.
        self.assertEqual((counts["passed"], counts["failed"], counts["skipped"]), (2, 5, 1))
        self.assertIn("no_such_module_here", json.dumps(counts["tests"]))

    def test_all_passing_exits_zero(self):
        code, counts, stderr = run_on({"test_ok.py": "import unittest\n\nclass Ok(unittest.TestCase):\n    def test_ok(self):\n        pass\n"})
        self.assertEqual((code, counts["passed"], counts["failed"]), (0, 1, 0))
        self.assertIn("OK", stderr)

    def test_an_empty_suite_is_a_failure(self):
        code, counts, _ = run_on({"test_none.py": "import unittest\n"})
        self.assertEqual((code, counts["passed"], counts["failed"]), (1, 0, 0))


if __name__ == "__main__":
    unittest.main()
