"""sd_notify over `$NOTIFY_SOCKET`: READY=1 once serving, WATCHDOG=1 from the IOLoop.

The watchdog ping is sent by a timer on the IOLoop itself, and only while every controller
finished a tick lately (`ControlService.healthy`), so a hung loop or a stopped tick stops the pings
and systemd restarts the service (`WatchdogSec=` in the unit).
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class SystemdNotifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self.address = address or None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        wanted_here = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 1_000_000 if usec.isdigit() and int(usec) > 0 and wanted_here else None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def ping_period_s(self) -> float | None:
        """Half the watchdog interval, as sd_watchdog_enabled(3) recommends."""
        return self.watchdog_s / 2 if self.watchdog_s else None

    def notify(self, state: str) -> bool:
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(state.encode())
            return True
        except OSError as error:
            log.warning("cannot notify systemd at %s: %s", self.address, error)
            return False

    def ready(self) -> bool:
        return self.notify("READY=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")
