"""pfedlora_client: the reference pfedlora client in Python (docs/protocol.md) with a PyTorch pFedLoRA trainer."""
from .codec import CodecError, Tensor, decode, encode, sha256_hex
from .client import ClientConfig, ClientRefused, Daemon, Prepared, TlsFiles
from .trainer import ContractError, PFedLoRATrainer
from .wire import PROTOCOL_VERSION, RunSettings

__version__ = "0.1.0"
__all__ = ["CodecError", "Tensor", "decode", "encode", "sha256_hex", "ClientConfig", "ClientRefused", "Daemon", "Prepared", "TlsFiles",
           "ContractError", "PFedLoRATrainer", "PROTOCOL_VERSION", "RunSettings"]
