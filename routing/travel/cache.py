"""A disk (and memory) cache for road travel matrices.

Entries are ``.npz`` files named by a sha256 key that
:class:`routing.travel.road.RoadTravel` builds from the model's digest (graph
and speed profile), the band and the snapped node ids, so a different graph,
profile, band or set of points can never hit a stale entry. Files are written
to a temporary name in the same folder and renamed into place, so concurrent
writers never leave a half-written entry (the last rename wins; both wrote the
same data). Unreadable files count as misses.

The library never picks the folder from the environment: the caller passes
it (the CLI uses :data:`DEFAULT_CACHE_DIR`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

#: Where the command line keeps matrices unless told otherwise.
DEFAULT_CACHE_DIR = Path("~/.cache/milepost/travel")

#: Bumped whenever the stored layout changes.
FORMAT_VERSION = "road-v1"

Arrays = dict[str, npt.NDArray[np.generic]]


def cache_key(*parts: str | bytes) -> str:
    """sha256 hex digest of ``parts`` (each length-prefixed, so unambiguous)."""
    h = hashlib.sha256(FORMAT_VERSION.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class MatrixCache:
    """Named numpy arrays by key, in memory and optionally on disk.

    Parameters
    ----------
    directory
        Folder for ``.npz`` files (created on first write; ``~`` expanded);
        ``None`` keeps entries in memory only.
    memory_bytes
        Budget of the in-memory LRU layer; 0 disables it.

    Attributes
    ----------
    hits, misses
        Lookups answered and not answered so far.
    """

    def __init__(
        self, directory: str | Path | None = None, *, memory_bytes: int = 256 << 20
    ) -> None:
        self.directory = None if directory is None else Path(directory).expanduser()
        self.memory_bytes = memory_bytes
        self._memory: OrderedDict[str, Arrays] = OrderedDict()
        self._used = 0
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Path | None:
        """The file an entry lives in (``None`` without a directory)."""
        if self.directory is None:
            return None
        return self.directory / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Arrays | None:
        """The arrays stored under ``key``, or ``None``."""
        found = self._memory.get(key)
        if found is not None:
            self._memory.move_to_end(key)
            self.hits += 1
            return found
        path = self.path(key)
        if path is not None and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as npz:
                    arrays: Arrays = {name: npz[name] for name in npz.files}
            except (OSError, ValueError, zipfile.BadZipFile, EOFError):
                arrays = {}
            if arrays:
                self.hits += 1
                self._remember(key, arrays)
                return arrays
        self.misses += 1
        return None

    def put(self, key: str, arrays: Mapping[str, npt.NDArray[np.generic]]) -> None:
        """Store ``arrays`` under ``key`` (atomically on disk)."""
        stored: Arrays = dict(arrays)
        self._remember(key, stored)
        path = self.path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, allow_pickle=False, **stored)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clear_memory(self) -> None:
        """Forget the in-memory entries (disk entries stay)."""
        self._memory.clear()
        self._used = 0

    def _remember(self, key: str, arrays: Arrays) -> None:
        size = sum(a.nbytes for a in arrays.values())
        if size > self.memory_bytes:
            return
        if key in self._memory:
            self._used -= sum(a.nbytes for a in self._memory.pop(key).values())
        self._memory[key] = arrays
        self._used += size
        while self._used > self.memory_bytes and self._memory:
            _, old = self._memory.popitem(last=False)
            self._used -= sum(a.nbytes for a in old.values())
