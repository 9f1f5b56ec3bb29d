"""JSON log lines on stdout, one object per line, like the TypeScript services' (winston):
{"level": ..., "message": ..., "service": ..., <bound fields>, "timestamp": ISO-8601}."""
from __future__ import annotations

import datetime
import json
import sys
import threading
from typing import Any, Dict, Optional, TextIO

LEVELS = {"error": 0, "warn": 1, "info": 2, "debug": 3}
_lock = threading.Lock()


class Logger:
    def __init__(self, service: str = "python-client", level: str = "info", fields: Optional[Dict[str, Any]] = None, stream: Optional[TextIO] = None) -> None:
        if level not in LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
        self.service = service
        self.level = level
        self.fields = dict(fields or {})
        self.stream = stream

    def child(self, **fields: Any) -> "Logger":
        return Logger(self.service, self.level, {**self.fields, **fields}, self.stream)

    def log(self, level: str, message: str, **fields: Any) -> None:
        if LEVELS[level] > LEVELS[self.level]:
            return
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = json.dumps({"level": level, "message": message, "service": self.service, **self.fields, **fields, "timestamp": now}, default=str, separators=(",", ":"))
        stream = self.stream or sys.stdout
        with _lock:
            stream.write(line + "\n")
            stream.flush()

    def error(self, message: str, **fields: Any) -> None:
        self.log("error", message, **fields)

    def warn(self, message: str, **fields: Any) -> None:
        self.log("warn", message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log("info", message, **fields)

    def debug(self, message: str, **fields: Any) -> None:
        self.log("debug", message, **fields)
