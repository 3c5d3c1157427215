"""JSON lines as the trainer contract writes them: non-finite numbers as strings, one write per line."""
import json
import math
import os
from typing import Any, Optional

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_number(v: float) -> Any:
    """A finite number as itself; NaN/±Inf as the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def decode_number(v: Any) -> Optional[float]:
    """Inverse of encode_number: numbers pass, the three spellings become floats, anything else is None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str) and v in NON_FINITE:
        return NON_FINITE[v]
    return None


def sanitize(value: Any) -> Any:
    """A JSON-ready copy: non-finite floats encoded, tensors/numpy scalars (``.item()``) unwrapped,
    tuples as lists, unknown objects as their ``str``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return encode_number(float(value))
    if isinstance(value, dict):
        return {str(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return sanitize(item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "__float__"):
        try:
            return encode_number(float(value))
        except (TypeError, ValueError):
            pass
    return str(value)


def json_line(value: Any) -> str:
    """One JSON line ending in ``\\n``; non-finite numbers encoded (never bare NaN)."""
    return json.dumps(sanitize(value), allow_nan=False, separators=(",", ":")) + "\n"


def append_json_line(path: str, value: Any) -> None:
    """Append one complete line with a single write call (O_APPEND), as the contract requires."""
    data = json_line(value).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        while written < len(data):  # a short write on a regular file is rare (disk full, signal)
            written += os.write(fd, data[written:])
    finally:
        os.close(fd)
