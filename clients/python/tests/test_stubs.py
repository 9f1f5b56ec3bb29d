"""The committed gRPC stubs: they load, they describe the wire of proto/, and they have not drifted from it."""
import os
import subprocess
import sys
import unittest

from _paths import PACKAGE_ROOT
from pfedlora_client._proto import federation_pb2 as pb
from pfedlora_client._proto import federation_pb2_grpc as pb_grpc
from pfedlora_client.wire import PROTOCOL_VERSION


class Stubs(unittest.TestCase):
    def test_no_drift_from_the_proto(self):
        tool = os.path.join(PACKAGE_ROOT, "tools", "generate_stubs.py")
        run = subprocess.run([sys.executable, tool, "--check"], capture_output=True, text=True)
        if run.returncode == 2:
            self.skipTest(f"no protoc to check against: {run.stderr.strip()}")
        self.assertEqual(run.returncode, 0, run.stdout[-4000:] + run.stderr)

    def test_messages_round_trip(self):
        req = pb.JoinRequest(client_id="py-0", protocol_version=PROTOCOL_VERSION, model=pb.ModelDescriptor(family="torch", representation_dim=500), class_names=["bag"])
        self.assertEqual(pb.JoinRequest.FromString(req.SerializeToString()), req)
        event = pb.ServerEvent(ping=pb.Ping(unix_ms=5))
        self.assertEqual(event.WhichOneof("event"), "ping")

    def test_service_methods(self):
        self.assertEqual(sorted(pb.DESCRIPTOR.services_by_name["Federation"].methods_by_name), ["Describe", "Download", "Heartbeat", "Join", "Subscribe", "Upload"])
        self.assertTrue(hasattr(pb_grpc, "FederationStub"))


if __name__ == "__main__":
    unittest.main()
