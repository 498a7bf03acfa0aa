"""Test databases, fresh for every test but cheap to make.

Migrating a new database takes Alembic 0.2 to 1 s (16 revisions), and the
service tests start the service on a new database hundreds of times. A test
process migrates one template per backend instead and copies it: a file copy
on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. On PostgreSQL,
creating and dropping a database still waits on the disk (0.2 to 0.6 s each),
so :class:`PgDatabases` makes the next databases of each kind and drops used
ones in threads, while the tests run.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psycopg

from api.db.migrate import upgrade

__all__ = ["PgDatabases", "copy_sqlite", "migrate_sqlite_template"]

#: Every test database's name starts so (a crashed run's are easy to find).
PREFIX = "milepost_test_"


def migrate_sqlite_template(folder: Path) -> Path:
    """A SQLite file in ``folder`` migrated to the newest revision."""
    path = folder / "template.db"
    upgrade(f"sqlite:///{path}")
    # The migration ends in WAL mode; its last connection folds the log back
    # into the file, so the file alone is the whole database.
    left = [p.name for p in folder.iterdir() if p.name.startswith("template.db-")]
    if left:
        raise RuntimeError(f"the migrated SQLite template left {left} beside it")
    return path


def copy_sqlite(template: Path, path: Path) -> None:
    """Make ``path`` a copy of the migrated ``template`` (it must not exist)."""
    if path.exists():
        raise FileExistsError(f"{path} exists: a copy would replace its database")
    shutil.copyfile(template, path)


class PgDatabases:
    """This test process's PostgreSQL databases, made ahead and dropped behind.

    Parameters
    ----------
    admin_url
        A libpq URL of the server, as a user who may create databases.

    Each kind (empty; migrated to the newest revision) is made on first
    :meth:`take`, and from then on :data:`AHEAD` databases of that kind wait
    ready. Two threads make and drop them: the server does two at once
    faster than one after the other (both mostly wait on the disk).
    """

    #: Databases of each kind made ahead of the tests.
    AHEAD = 2

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        with psycopg.connect(admin_url, connect_timeout=5) as conn:
            info = conn.info
            self._server = f"{info.user or 'postgres'}@{info.host}:{info.port}"
        self._threads = ThreadPoolExecutor(2, thread_name_prefix="pg-databases")
        # CREATE and DROP DATABASE run outside transactions: each thread
        # keeps its own autocommit connection.
        self._local = threading.local()
        self._conns: list[psycopg.Connection[object]] = []
        self._ready: dict[bool, deque[Future[str]]] = {False: deque(), True: deque()}
        self._dropping: list[Future[None]] = []
        self._template: str | None = None

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database ``name``."""
        return f"postgresql+psycopg://{self._server}/{name}"

    def take(self, migrated: bool) -> str:
        """A new database, empty or at the newest revision; its name."""
        if migrated and self._template is None:
            self._template = self._make_template()
        ready = self._ready[migrated]
        while len(ready) < self.AHEAD + 1:
            ready.append(self._threads.submit(self._create, migrated))
        return ready.popleft().result()

    def give_back(self, name: str) -> None:
        """Drop database ``name`` (in a thread; :meth:`close` waits)."""
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        self._dropping.append(self._threads.submit(self._execute, drop))

    def close(self) -> None:
        """Drop every database made here; raise if a drop failed."""
        for ready in self._ready.values():
            while ready:
                self.give_back(ready.popleft().result())
        self._threads.shutdown(wait=True)  # the template's copies are gone
        if self._template is not None:
            self._execute(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
        for conn in self._conns:
            conn.close()
        failed = [str(f.exception()) for f in self._dropping if f.exception()]
        if failed:
            raise RuntimeError(f"test databases not dropped: {failed}")

    def _make_template(self) -> str:
        name = f"{PREFIX}template_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}"')
        # In this thread: Alembic keeps its context in module globals.
        upgrade(self.url(name))
        # Nobody may connect to it from now on: one would block every copy.
        self._execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        return name

    def _create(self, migrated: bool) -> str:
        name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
        template = f' TEMPLATE "{self._template}"' if migrated else ""
        self._execute(f'CREATE DATABASE "{name}"{template}')
        return name

    def _execute(self, statement: str) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = psycopg.connect(self._admin_url, autocommit=True, connect_timeout=5)
            self._local.conn = conn
            self._conns.append(conn)
        conn.execute(statement)  # type: ignore[call-overload]
