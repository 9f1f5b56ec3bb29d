"""python3 -m pfedlora_client: the reference PyTorch client as a command."""
from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import threading
from typing import List, Optional

from .client import EXIT_FAILURE, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, ClientConfig, ClientRefused, Daemon, Prepared, TlsFiles
from .log import LEVELS, Logger
from .wire import CLIENT_ID

DESCRIPTION = """\
The reference pfedlora client in Python: joins a coordinator over gRPC (docs/protocol.md),
trains a PyTorch CNN of the model zoo with the pFedLoRA adapter on IDX image data
(Fashion-MNIST's format) and uploads only the adapter delta. Logs are JSON lines on stdout.
Exit codes: 0 the run finished (or SIGTERM), 1 gave up or failed, 2 bad flags, 4 refused
(the model or data do not meet the run's contract, or the coordinator said no)."""

EPILOG = """\
examples:
  python3 -m pfedlora_client --coordinator 127.0.0.1:7070 --insecure --client-id py-0 \\
      --data-dir packages/ml/data/fashion-mnist-subset --shard 2/3 --max-samples 160
  python3 -m pfedlora_client --coordinator coord.example:7070 --client-id site-a \\
      --tls-cert clients/site-a/client.pem --tls-key clients/site-a/client-key.pem \\
      --tls-ca clients/site-a/ca.pem --data-dir /data/site-a
"""


def _address(text: str) -> str:
    if not re.match(r"^[^:\s]+:\d+$", text) and not re.match(r"^\[[0-9a-fA-F:]+\]:\d+$", text):
        raise argparse.ArgumentTypeError(f'expects HOST:PORT, got "{text}"')
    return text


def _client_id(text: str) -> str:
    if not CLIENT_ID.match(text):
        raise argparse.ArgumentTypeError(f"\"{text}\" must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return text


def _nonneg_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expects an integer >= 0, got {text}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expects a number > 0, got {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expects a number of seconds >= 0, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m pfedlora_client", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--coordinator", type=_address, default=os.environ.get("PFEDLORA_COORDINATOR"), help="HOST:PORT of the coordinator's Federation port (env PFEDLORA_COORDINATOR)")
    p.add_argument("--client-id", type=_client_id, help="stable id of this client (default: client-K with --shard K/N)")
    data = p.add_argument_group("data")
    data.add_argument("--data-dir", default=os.path.join("packages", "ml", "data", "fashion-mnist-subset"),
                      help="folder of IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may be .gz) (default: the committed Fashion-MNIST subset)")
    data.add_argument("--class-names", help="comma-separated names of the file's labels 0, 1, ... (default: label i is the run's class i)")
    data.add_argument("--shard", help="train on shard K of N of the seeded partition the TypeScript clients use")
    data.add_argument("--partition", default="label-skew", choices=["label-skew", "dirichlet"], help="the partition --shard cuts (default label-skew)")
    data.add_argument("--classes-per-client", type=int, default=2, help="label-skew classes per shard (default 2)")
    data.add_argument("--alpha", type=_positive, default=0.5, help="dirichlet concentration (default 0.5)")
    data.add_argument("--partition-seed", type=_nonneg_int, default=1, help="seed of the partition shared by all shards (default 1)")
    data.add_argument("--max-samples", type=_nonneg_int, default=0, help="cap on training samples, evenly spread (0: all)")
    model = p.add_argument_group("model and training")
    model.add_argument("--model", default="cnn1", choices=["cnn1", "cnn2", "cnn3", "cnn4", "cnn5"], help="zoo CNN in PyTorch (default cnn1)")
    model.add_argument("--device", default="auto", help="torch device: auto (cuda when available, else cpu), cpu, cuda, cuda:1 ...")
    model.add_argument("--torch-threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    model.add_argument("--model-seed", type=_nonneg_int, help="seed of the model's init (default: derived from the run seed and client id)")
    model.add_argument("--state-dir", metavar="DIR", help="save the private model, optimizer momentum and adapter there every round (private-NNNNN.pflt); a restart resumes from it")
    net = p.add_argument_group("transport")
    net.add_argument("--insecure", action="store_true", help="plaintext gRPC (a network you trust); otherwise all three --tls-* files are needed")
    net.add_argument("--tls-cert", help="client certificate (clients/ID/client.pem from 'pfedlora certs issue')")
    net.add_argument("--tls-key", help="its private key (clients/ID/client-key.pem)")
    net.add_argument("--tls-ca", help="the federation's CA (clients/ID/ca.pem)")
    net.add_argument("--tls-server-name", help="name to check the coordinator's certificate against, when it differs from the host dialled")
    net.add_argument("--reconnect-initial", type=_seconds, default=0.25, help="first reconnect delay in seconds; doubles, with jitter (default 0.25)")
    net.add_argument("--reconnect-max", type=_seconds, default=10.0, help="longest reconnect delay in seconds (default 10)")
    net.add_argument("--silence-timeout", type=_seconds, default=30.0, help="reconnect when nothing (not even a ping) came for this long (default 30)")
    net.add_argument("--give-up-after", type=_seconds, default=0.0, help="exit 1 after this long without reaching the coordinator (0: never)")
    out = p.add_argument_group("output")
    out.add_argument("--dump-updates", metavar="DIR", help="write each uploaded payload's PFLT bytes to DIR/update-rNNNNN-<taskId>.pflt")
    out.add_argument("--log-level", default="info", choices=list(LEVELS), help="default info")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_USAGE
    shard = None
    if args.shard is not None:
        from .data import ShardSpec, parse_shard

        try:
            k, n = parse_shard(args.shard)
        except ValueError as e:
            p.print_usage(sys.stderr)
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
        shard = ShardSpec(k, n, args.classes_per_client, args.partition_seed, args.partition, args.alpha)
    tls_given = [args.tls_cert, args.tls_key, args.tls_ca]
    errors = []
    if args.coordinator is None:
        errors.append("--coordinator HOST:PORT is required (or PFEDLORA_COORDINATOR)")
    if args.insecure and any(tls_given):
        errors.append("--insecure and --tls-* exclude each other")
    if not args.insecure and not all(tls_given):
        errors.append("give --tls-cert, --tls-key and --tls-ca (mutual TLS), or --insecure for plaintext on a network you trust")
    client_id = args.client_id or (f"client-{shard.index}" if shard else None)
    if client_id is None:
        errors.append("--client-id is required without --shard")
    if errors:
        p.print_usage(sys.stderr)
        for e in errors:
            print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE

    log = Logger("python-client", args.log_level)
    import torch

    from .data import DataError, load_client_data
    from .trainer import ContractError, PFedLoRATrainer
    from .zoo import zoo_model

    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else torch.device(args.device)
    file_classes = [c.strip() for c in args.class_names.split(",")] if args.class_names else None

    def build(settings, client_seed: int) -> Prepared:
        try:
            data = load_client_data(args.data_dir, settings.class_names, file_classes, shard, args.max_samples)
        except DataError as e:
            raise ClientRefused(str(e)) from None
        input_shape = tuple(data.train.images.shape[1:])
        from .rng import derive_seed

        seed = args.model_seed if args.model_seed is not None else derive_seed(client_seed, "model")
        try:
            extractor, head = zoo_model(args.model, input_shape, settings.representation_dim, settings.num_classes, seed)
            trainer = PFedLoRATrainer(extractor, head, (data.train.images, data.train.labels), (data.test.images, data.test.labels), settings, client_seed,
                                      device=device, name=args.model)
        except (ContractError, ValueError) as e:
            raise ClientRefused(str(e)) from None
        return Prepared(trainer, data.class_names, data.source)

    config = ClientConfig(
        coordinator=args.coordinator,
        client_id=client_id,
        credential=os.environ.get("PFEDLORA_CLIENT_CREDENTIAL", ""),
        tls=None if args.insecure else TlsFiles(args.tls_cert, args.tls_key, args.tls_ca, args.tls_server_name),
        backend=f"torch-{device.type}",
        reconnect_initial_ms=max(1, int(args.reconnect_initial * 1000)),
        reconnect_max_ms=max(1, int(args.reconnect_max * 1000)),
        silence_timeout_ms=max(1, int(args.silence_timeout * 1000)),
        give_up_after_ms=int(args.give_up_after * 1000),
        dump_updates_dir=args.dump_updates,
        state_dir=args.state_dir,
    )
    if args.insecure:
        log.warn("insecure: plaintext gRPC, the coordinator is not authenticated and neither is this client", clientId=client_id)
    daemon = Daemon(config, build, log)
    result = {"code": EXIT_FAILURE}

    def run() -> None:
        try:
            result["code"] = daemon.run()
        except ClientRefused as e:
            log.error("cannot join this run", clientId=client_id, error=str(e))
            result["code"] = EXIT_REFUSED
        except Exception as e:  # noqa: BLE001
            log.error("client failed", clientId=client_id, error=f"{type(e).__name__}: {e}")
            result["code"] = EXIT_FAILURE

    def on_signal(signum, _frame) -> None:
        log.info("shutting down", clientId=client_id, signal=signal.Signals(signum).name)
        daemon.shutdown()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=run, name="pfedlora-client")
    thread.start()
    while thread.is_alive():
        thread.join(0.2)  # signal handlers run in the main thread between these joins
    return result["code"]
