"""A throwaway PostgreSQL cluster for a benchmark run (bench only, never the tests).

    with PgCluster() as cluster:
        url = cluster.url  # postgresql+psycopg://postgres@127.0.0.1:<port>/postgres

Debian's `initdb` and `pg_ctl` (the newest of /usr/lib/postgresql/*/bin, else the ones on
PATH) make a cluster in a temporary directory and start it on a free loopback port, with
its Unix socket in that directory too, so it meets no other cluster on the machine.
PostgreSQL refuses to run as root: as root the cluster is made and run by the `postgres`
user (Debian's package creates it), otherwise by the current user. The configuration is
initdb's default (fsync on, 128 MB shared buffers) with `trust` authentication on the
loopback only. Stopping (`pg_ctl stop -m fast`) removes the directory unless `keep`.

    python -m bench.pg_cluster        # starts one, prints its URL, stops on Enter
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


class PgClusterError(RuntimeError):
    pass


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL server program: Debian's newest, or the one on PATH."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: [int(part) if part.isdigit() else 0 for part in Path(path).parts[4].split(".")],
    )
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise PgClusterError(
            f"{name} not found under /usr/lib/postgresql/*/bin nor on PATH (apt-get install postgresql)"
        )
    return on_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class PgCluster:
    def __init__(self, *, keep: bool = False, base_dir: str | None = None) -> None:
        self.keep = keep
        self.base_dir = base_dir
        self.port = 0
        self.root: Path | None = None
        self._user: dict[str, Any] = {}  # Popen's user/group when run as another user
        self._started = False

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=self.root, **self._user)
        if done.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            command = " ".join(argv[:2])
            raise PgClusterError(f"{command} failed ({done.returncode}): {done.stderr.strip()}\n{log}")

    def start(self) -> PgCluster:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        self.root = Path(tempfile.mkdtemp(prefix="maelstrom-pg-", dir=self.base_dir))
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PgClusterError("running as root, and no postgres user to run PostgreSQL as") from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        self.port = free_port()
        self._run(
            [initdb, "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync"]
        )  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses={HOST}"
        self._run([pg_ctl, "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options, "-w", "start"])
        self._started = True
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        if self._started:
            try:
                self._run([pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
            finally:
                self._started = False
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    with PgCluster() as cluster:
        print(f"{cluster.url}  (data in {cluster.root}; Enter stops it)")
        try:
            input()
        except EOFError:
            pass
