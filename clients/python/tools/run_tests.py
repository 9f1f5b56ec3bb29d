"""Runs the Python unit suite (clients/python/tests) and reports its counts as JSON.

    /usr/bin/python3 clients/python/tools/run_tests.py --json PATH

`.ci/run` adds them to jest's to print one "N passed, N failed" line: every test
method counts once (failed if it or any of its subtests failed or errored),
and a module that does not import, or a setUpClass that raises, counts as one
failed test. The unittest report goes to stderr as usual. PATH gets

    {"passed": N, "failed": N, "skipped": N,
     "tests": [{"name": "test_codec.BadInput.test_...", "status": "passed" | "failed" | "skipped", "detail": "..."}]}

and the exit status is 0 only if nothing failed (and at least one test ran).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import unittest
from typing import Dict, List

TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")


class CountingResult(unittest.TextTestResult):
    """A TextTestResult that also keeps one status per test id (in the order tests started)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.statuses: Dict[str, Dict[str, str]] = {}

    def _mark(self, test: unittest.TestCase, status: str, detail: str = "") -> None:
        entry = self.statuses.setdefault(test.id(), {"name": test.id(), "status": "passed", "detail": ""})
        # A failure is final: a later success of the same test (or subtest) does not undo it.
        if entry["status"] != "failed":
            entry["status"], entry["detail"] = status, detail

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self._mark(test, "passed")

    def addFailure(self, test, err) -> None:
        super().addFailure(test, err)
        self._mark(test, "failed", self._exc_info_to_string(err, test))

    def addError(self, test, err) -> None:
        super().addError(test, err)
        self._mark(test, "failed", self._exc_info_to_string(err, test))

    def addSubTest(self, test, subtest, err) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._mark(test, "failed", f"{subtest.id()}: {self._exc_info_to_string(err, test)}")

    def addSkip(self, test, reason: str) -> None:
        super().addSkip(test, reason)
        self._mark(test, "skipped", reason)

    def addUnexpectedSuccess(self, test) -> None:
        super().addUnexpectedSuccess(test)
        self._mark(test, "failed", "unexpected success")


def run(directory: str = TESTS, pattern: str = "test*.py") -> List[Dict[str, str]]:
    """Discovers and runs the suite in `directory`; returns one status per test."""
    suite = unittest.defaultTestLoader.discover(directory, pattern=pattern, top_level_dir=directory)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=CountingResult)
    result = runner.run(suite)
    return list(result.statuses.values())


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", dest="json_path", required=True, help="where to write the counts")
    parser.add_argument("--dir", default=TESTS, help="the suite's folder (default: clients/python/tests)")
    parser.add_argument("--pattern", default="test*.py", help="test file pattern (default test*.py)")
    args = parser.parse_args(argv)
    tests = run(args.dir, args.pattern)
    counts = {status: sum(1 for t in tests if t["status"] == status) for status in ("passed", "failed", "skipped")}
    with open(args.json_path, "w", encoding="utf-8") as f:
        json.dump({**counts, "tests": tests}, f, indent=1)
    return 0 if counts["failed"] == 0 and tests else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
