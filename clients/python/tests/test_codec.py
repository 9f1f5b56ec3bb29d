"""The PFLT codec against payloads the TypeScript codec wrote (scripts/make-python-client-fixtures.js), and bad input refused."""
import json
import os
import struct
import unittest

import numpy as np

from _paths import FIXTURES
from pfedlora_client import codec
from pfedlora_client.codec import CodecError, Tensor


def load_manifest():
    with open(os.path.join(FIXTURES, "codec.json"), encoding="utf-8") as f:
        return json.load(f)


def expected_tensors(entry):
    return [Tensor(t["name"], np.array([-0.0 if v == "-0" else v for v in t["values"]], dtype=np.float32).reshape(t["shape"])) for t in entry["tensors"]]


def read(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def adapter_bytes():
    return read("codec-adapter.pflt")


class AgainstTypeScript(unittest.TestCase):
    def test_decodes_every_fixture_exactly(self):
        for key, entry in load_manifest().items():
            with self.subTest(key):
                data = read(entry["file"])
                self.assertEqual(len(data), entry["bytes"])
                self.assertEqual(codec.sha256_hex(data), entry["sha256"])
                got = codec.decode(data)
                want = expected_tensors(entry)
                self.assertEqual([(t.name, t.shape) for t in got], [(t.name, t.shape) for t in want])
                for g, w in zip(got, want):
                    self.assertEqual(g.values.dtype, np.float32)
                    self.assertEqual(g.values.tobytes(), w.values.tobytes())  # bit for bit, -0 included

    def test_encodes_the_same_bytes(self):
        for key, entry in load_manifest().items():
            with self.subTest(key):
                data = read(entry["file"])
                self.assertEqual(codec.encode(expected_tensors(entry)), data)
                self.assertEqual(codec.encoded_size([(t["name"], tuple(t["shape"])) for t in entry["tensors"]]), entry["encodedSizeOfSpec"])

    def test_sha256_is_lowercase_hex(self):
        digest = codec.sha256_hex(adapter_bytes())
        self.assertRegex(digest, r"^[0-9a-f]{64}$")

    def test_decode_with_expected_spec(self):
        data = adapter_bytes()
        codec.decode(data, [("adapter/down", (3, 2)), ("adapter/up", (2, 4))])
        with self.assertRaisesRegex(CodecError, r'tensor "adapter/up" has shape \[2, 4\], expected \[2, 5\]'):
            codec.decode(data, [("adapter/down", (3, 2)), ("adapter/up", (2, 5))])
        with self.assertRaisesRegex(CodecError, 'tensor 0 is named "adapter/down", expected "adapter/up"'):
            codec.decode(data, [("adapter/up", (3, 2)), ("adapter/down", (2, 4))])
        with self.assertRaisesRegex(CodecError, "payload holds 2 tensors, expected 1"):
            codec.decode(data, [("adapter/up", (2, 4))])

    def test_values_do_not_alias_the_input(self):
        data = bytearray(adapter_bytes())
        got = codec.decode(bytes(data))
        got[0].values[0, 0] = 99
        self.assertEqual(codec.decode(bytes(data))[0].values[0, 0], np.float32(0.5))


class BadInput(unittest.TestCase):
    def test_refuses_malformed_payloads(self):
        good = adapter_bytes()
        name_len_at = 10  # first tensor's u16 name length
        dtype_at = 10 + 2 + len("adapter/down")
        cases = {
            "bad magic": (b"PFLX" + good[4:], "bad magic"),
            "version 2": (good[:4] + struct.pack("<H", 2) + good[6:], "unsupported format version 2"),
            "truncated in the preamble": (good[:7], "truncated payload"),
            "truncated in the values": (good[:-3], "needs 8 values"),
            "trailing byte": (good + b"\x00", "1 trailing bytes"),
            "dtype 2": (good[:dtype_at] + b"\x02" + good[dtype_at + 1 :], "unsupported dtype code 2"),
            "rank 9": (good[:dtype_at + 1] + b"\x09" + good[dtype_at + 2 :], "rank 9 exceeds the maximum 8"),
            "empty name": (good[:name_len_at] + struct.pack("<H", 0) + good[name_len_at + 2 :], "name length is 0"),
            "name too long": (good[:name_len_at] + struct.pack("<H", 1025) + good[name_len_at + 2 :], "exceeds the maximum 1024"),
            "count past the bytes": (good[:6] + struct.pack("<I", 1000) + good[10:], "header claims 1000 tensors"),
            "bad utf-8": (good[:12] + b"\xff" + good[13:], "not valid UTF-8"),
        }
        for what, (data, message) in cases.items():
            with self.subTest(what):
                with self.assertRaisesRegex(CodecError, message):
                    codec.decode(data)

    def test_refuses_a_duplicate_name(self):
        one = codec.encode([Tensor("a", np.ones(2, np.float32))])
        twice = b"PFLT" + struct.pack("<HI", 1, 2) + one[10:] + one[10:]
        with self.assertRaisesRegex(CodecError, 'duplicate name "a"'):
            codec.decode(twice)
        with self.assertRaisesRegex(CodecError, 'duplicate name "a"'):
            codec.encode([Tensor("a", np.ones(1, np.float32)), Tensor("a", np.ones(1, np.float32))])

    def test_refuses_non_finite_values_both_ways(self):
        for bad in (np.nan, np.inf, -np.inf):
            with self.subTest(bad):
                t = Tensor("x", np.array([1.0, bad], dtype=np.float32))
                with self.assertRaisesRegex(CodecError, 'tensor "x": non-finite value .* at index 1'):
                    codec.encode([t])
                raw = codec.encode([t], allow_non_finite=True)
                with self.assertRaisesRegex(CodecError, "non-finite"):
                    codec.decode(raw)
                self.assertEqual(codec.decode(raw, allow_non_finite=True)[0].shape, (2,))

    def test_refuses_what_cannot_be_encoded(self):
        with self.assertRaisesRegex(CodecError, "name is empty"):
            codec.encode([Tensor("", np.ones(1, np.float32))])
        with self.assertRaisesRegex(CodecError, "must be float32"):
            codec.encode([Tensor("x", np.ones(1, np.float64))])
        with self.assertRaisesRegex(CodecError, "not well-formed Unicode"):
            codec.encode([Tensor("\ud800", np.ones(1, np.float32))])
        with self.assertRaisesRegex(CodecError, "at most 1024 allowed"):
            codec.encode([Tensor("n" * 1025, np.ones(1, np.float32))])
        with self.assertRaisesRegex(CodecError, "rank 9"):
            codec.encode([Tensor("x", np.ones([1] * 9, np.float32))])

    def test_every_truncation_of_a_typescript_payload_is_refused(self):
        for key, entry in load_manifest().items():
            data = read(entry["file"])
            for n in range(len(data)):
                with self.subTest(key, bytes=n), self.assertRaises(CodecError):
                    codec.decode(data[:n])

    def test_corrupted_typescript_bytes_raise_only_codec_errors(self):
        """Every byte of the headers, and a sample of the values, set to hostile values: decoded or a CodecError, nothing else."""
        data = adapter_bytes()
        header_end = 10 + 2 + len("adapter/down") + 2 + 8
        positions = list(range(header_end)) + list(range(header_end, len(data), 7))
        for at in positions:
            for value in (0x00, 0x01, 0x7F, 0x80, 0xFF):
                corrupted = data[:at] + bytes([value]) + data[at + 1 :]
                with self.subTest(at=at, value=value):
                    try:
                        codec.decode(corrupted)
                    except CodecError:
                        pass

    def test_a_nan_bit_pattern_in_typescript_bytes_is_refused(self):
        data = bytearray(adapter_bytes())
        values_at = 10 + 2 + len("adapter/down") + 2 + 8  # first value of the first tensor
        data[values_at + 4 : values_at + 8] = b"\x00\x00\xc0\x7f"  # a quiet NaN, little-endian
        with self.assertRaisesRegex(CodecError, 'tensor "adapter/down": non-finite value nan at index 1'):
            codec.decode(bytes(data))
        data[values_at + 4 : values_at + 8] = b"\x00\x00\x80\xff"  # -Inf
        with self.assertRaisesRegex(CodecError, 'tensor "adapter/down": non-finite value -inf at index 1'):
            codec.decode(bytes(data))

    def test_chunks_cover_the_payload(self):
        data = bytes(range(256)) * 5
        chunks = codec.split_chunks(data, 100)
        self.assertEqual(b"".join(chunks), data)
        self.assertTrue(all(len(c) == 100 for c in chunks[:-1]))
        self.assertEqual(len(chunks[-1]), 80)


if __name__ == "__main__":
    unittest.main()
