"""Where a benchmark ran: one description shared by every benchmark."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from importlib import metadata
from typing import Any


def machine(packages: Sequence[str] = ()) -> dict[str, Any]:
    """Host, CPU count, Python version and the versions of ``packages``."""

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {
        "node": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        **{p: version(p) for p in packages},
    }
