"""Appliance cost: what the real server costs to run, with and without chambers (by hand).

    .venv/bin/python -m bench.appliance [--minutes 10] [--warmup-s 30] [--json] [--profile DIR]

Two phases, each a fresh `maelstrom.py` subprocess (SQLite in a temporary `--data-dir`,
a free port on 127.0.0.1), configured through the REST API as a user's script would:

- (a) no chambers: the fresh-install sample is stopped and deleted (its controller with
  `?cascade=true`, then its profile), so no controller and no chamber is left;
- (b) the same, then four `simulator` controllers (fridge plant, speed 1), each with a
  fermenter wired like the sample (beer, fridge and room probes, compressor, heater) running
  the sample ale profile.

In both, three WebSocket clients (aiohttp with its default options, no login, as a wall
tablet under `public_read`) subscribe to `data` and to every `chamber/<id>/data`, and count
the frames they get. After the warm-up, the server's CPU time (user + system, all its
threads, psutil) over the measured window is its cost as % of one core; RSS is read at the
start and the end of the window. The target is phase (b) under 3 % of one core here, so that
a Raspberry Pi 3 (about ten times slower) stays under a third of a core; the exit status is
1 when it is missed, or when the data does not flow. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MiB = 1024 * 1024
TARGET_CPU_PCT = 3.0
CLIENTS = 3
CHAMBERS = 4
# A healthy chamber publishes once a tick (1 s): a client getting less than this on any
# channel means the data is not flowing, and the figure would flatter the server.
MIN_FRAMES_PER_S = 0.9

# The sample ale of a fresh install (app/control/sample.py), typed in as a user would.
PROFILE = {
    "name": "Bench ale",
    "kind": "fermentation",
    "points": [
        {"offset_days": 0.0, "temperature": 19.0, "event": None},
        {"offset_days": 4.0, "temperature": 19.0, "event": None},
        {"offset_days": 5.0, "temperature": 21.0, "event": "diacetyl rest"},
        {"offset_days": 7.0, "temperature": 21.0, "event": None},
        {"offset_days": 7.0, "temperature": 4.0, "event": "cold crash"},
        {"offset_days": 9.0, "temperature": 4.0, "event": "ready to package"},
    ],
}
# ROMs of the simulated fridge's probes (docs/simulator.md, "Probes"); every simulated board
# has the same three, each board on its own controller.
BEER_ROM, FRIDGE_ROM, ROOM_ROM = "281D8B4CF854CD95", "28997BC249599B51", "281F1C5B2FAD77A7"
DEVICES: list[dict[str, Any]] = [
    {"name": "Beer", "function": "beer_temp", "hardware": "onewire", "address": BEER_ROM, "slot": 1},
    {"name": "Fridge", "function": "fridge_temp", "hardware": "onewire", "address": FRIDGE_ROM, "slot": 2},
    {"name": "Room", "function": "room_temp", "hardware": "onewire", "address": ROOM_ROM, "slot": 3},
    {"name": "Compressor", "function": "cool", "hardware": "pin", "address": "5", "slot": 4,
     "min_on_s": 180, "min_off_s": 300},
    {"name": "Heater", "function": "heat", "hardware": "pin", "address": "6", "slot": 5},
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# -- the server ---------------------------------------------------------------------------
class Server:
    """`maelstrom.py` as a user starts it, optionally under cProfile."""

    def __init__(self, work: Path, label: str, profile_to: Path | None) -> None:
        self.port = free_port()
        self.data_dir = work / f"data-{label}"
        self.log_path = work / f"server-{label}.log"
        self.profile_to = profile_to
        argv = [sys.executable]
        if profile_to is not None:
            argv += ["-m", "cProfile", "-o", str(profile_to)]
        argv += [str(ROOT / "maelstrom.py"), "--address", HOST, "--port", str(self.port)]
        argv += ["--data-dir", str(self.data_dir), "--log-level", "WARNING"]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(argv, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        self.proc = psutil.Process(self.popen.pid)
        self.base = f"http://{HOST}:{self.port}"

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"the server exited at start; see {self.log_path}")
            try:
                _, writer = await asyncio.open_connection(HOST, self.port)
                writer.close()
                if (self.data_dir / "initial-password").exists():
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {timeout_s:.0f} s; see {self.log_path}")

    def cpu_s(self) -> float:
        times = self.proc.cpu_times()
        return times.user + times.system

    def rss(self) -> int:
        return int(self.proc.memory_info().rss)

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit status (cProfile writes its file then)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()
        return int(self.popen.returncode)


class Api:
    """The REST API with a token, made the way docs/api.md says: log in with the initial
    password, then `POST /api/tokens`."""

    def __init__(self, http: aiohttp.ClientSession, server: Server) -> None:
        self.http = http
        self.base = server.base
        self.data_dir = server.data_dir
        self.headers: dict[str, str] = {}

    async def log_in(self) -> None:
        password = (self.data_dir / "initial-password").read_text().strip()
        async with self.http.post(f"{self.base}/api/login", json={"password": password}) as answer:
            answer.raise_for_status()
            xsrf = (await answer.json())["xsrf"]
        # the session cookie needs the XSRF header; the token made with it does not
        async with self.http.post(
            f"{self.base}/api/tokens", json={"name": "appliance bench"}, headers={"X-XSRFToken": xsrf}
        ) as answer:
            answer.raise_for_status()
            self.headers = {"Authorization": f"Bearer {(await answer.json())['token']}"}

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        async with self.http.request(method, self.base + path, json=body, headers=self.headers) as answer:
            text = await answer.text()
            if answer.status != expect:
                raise RuntimeError(f"{method} {path}: {answer.status} {text}")
            return json.loads(text) if text else None


async def remove_everything(api: Api) -> None:
    """Stop what runs and delete every controller (with its chambers) and profile: what
    makes "no chambers" true on a fresh install, whose sample runs a profile."""
    for chamber in await api.call("GET", "/api/chambers"):
        if chamber["mode"] == "profile":  # a chamber running a profile may not be deleted
            await api.call("PATCH", f"/api/chambers/{chamber['id']}", {"mode": "off"})
    for controller in await api.call("GET", "/api/controllers"):
        await api.call("DELETE", f"/api/controllers/{controller['id']}?cascade=true", expect=204)
    for profile in await api.call("GET", "/api/profiles"):
        await api.call("DELETE", f"/api/profiles/{profile['id']}", expect=204)
    if await api.call("GET", "/api/chambers") or await api.call("GET", "/api/controllers"):
        raise RuntimeError("chambers or controllers left after deleting them")


async def add_chambers(api: Api, count: int) -> list[int]:
    """`count` simulated fermenters, each on its own simulator board, running the profile."""
    if not count:
        return []
    profile = await api.call("POST", "/api/profiles", PROFILE, expect=201)
    ids = []
    for n in range(1, count + 1):
        controller = await api.call(
            "POST",
            "/api/controllers",
            {"name": f"Simulator {n}", "kind": "simulator", "address": f"plant=fridge speed=1 seed={n}"},
            expect=201,
        )
        chamber = await api.call(
            "POST",
            "/api/chambers",
            {"controller_id": controller["id"], "name": f"Fermenter {n}", "kind": "fermenter"},
            expect=201,
        )
        for device in DEVICES:
            await api.call("POST", "/api/devices", {"chamber_id": chamber["id"], **device}, expect=201)
        # wired first, then started: a profile never runs on a chamber without its probes
        started = await api.call(
            "PATCH", f"/api/chambers/{chamber['id']}", {"mode": "profile", "profile_id": profile["id"]}
        )
        if not started["profile_state"].get("run"):
            raise RuntimeError(f"chamber {chamber['id']}: the profile did not start: {started}")
        ids.append(chamber["id"])
    return ids


# -- the clients --------------------------------------------------------------------------
@dataclass
class Client:
    """A tablet: one WebSocket, subscribed to the channels, counting what arrives."""

    frames: Counter[str] = field(default_factory=Counter)
    counting: bool = False
    closed: str | None = None

    async def run(
        self, http: aiohttp.ClientSession, url: str, channels: list[str], ready: asyncio.Event
    ) -> None:
        async with http.ws_connect(url) as ws:
            for n, channel in enumerate(channels, 1):
                await ws.send_json({"action": "subscribe", "channel": channel, "id": n})
            replies = 0
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                frame = json.loads(message.data)
                if "channel" in frame:
                    if self.counting:
                        self.frames[frame["channel"]] += 1
                elif "result" in frame:
                    replies += 1
                    if replies == len(channels):
                        ready.set()
                else:
                    raise RuntimeError(f"subscribe refused: {frame}")
            self.closed = f"closed ({ws.close_code})"


# -- a phase ------------------------------------------------------------------------------
@dataclass
class Phase:
    label: str
    chambers: int
    window_s: float = 0.0
    cpu_s: float = 0.0
    cpu_pct: float = 0.0
    rss_start_mib: float = 0.0
    rss_end_mib: float = 0.0
    rss_by_minute_mib: list[float] = field(default_factory=list)  # does it settle, or keep growing?
    frames_per_s: float = 0.0  # per client, all channels
    slowest_channel_per_s: float | None = None  # the least any client got on any channel
    tick_period_s: float = 0.0
    system_cpu_pct: float = 0.0  # every process on the machine, as % of all cores
    bench_cpu_pct: float = 0.0  # this process (the clients), as % of one core
    clean_exit: bool = False
    problems: list[str] = field(default_factory=list)


async def run_phase(
    phase: Phase, work: Path, warmup_s: float, window_s: float, profile_dir: Path | None
) -> None:
    profile_to = profile_dir / f"server-{phase.chambers}-chambers.prof" if profile_dir else None
    server = Server(work, f"{phase.chambers}-chambers", profile_to)
    clients = [Client() for _ in range(CLIENTS)]
    tasks: list[asyncio.Task[None]] = []
    try:
        await server.wait_ready()
        # unsafe=True: aiohttp keeps no cookies from a bare IP address otherwise
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            api = Api(http, server)
            await api.log_in()
            phase.tick_period_s = (await api.call("GET", "/api/settings/tick_period_s"))["value"]
            await remove_everything(api)
            ids = await add_chambers(api, phase.chambers)
            channels = ["data"] + [f"chamber/{i}/data" for i in ids]
            ready = [asyncio.Event() for _ in clients]
            url = f"ws://{HOST}:{server.port}/socket"
            # the clients get their own session: no token, no cookie, like a tablet on public_read
            async with aiohttp.ClientSession() as tablets:
                tasks = [
                    asyncio.ensure_future(c.run(tablets, url, channels, r))
                    for c, r in zip(clients, ready, strict=True)
                ]
                await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 30)
                await asyncio.sleep(warmup_s)
                await measure(phase, server, clients, channels, window_s)
                for task in tasks:
                    if task.done() and task.exception() is not None:
                        phase.problems.append(f"client failed: {task.exception()!r}")
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
        phase.clean_exit = server.stop() == 0
        if not phase.clean_exit:
            phase.problems.append(f"the server did not stop cleanly; see {server.log_path}")


async def measure(
    phase: Phase, server: Server, clients: list[Client], channels: list[str], window_s: float
) -> None:
    me = psutil.Process()
    psutil.cpu_percent()  # starts the system-wide interval
    mine = me.cpu_times()
    cpu0, rss0, t0 = server.cpu_s(), server.rss(), time.monotonic()
    for client in clients:
        client.counting = True
    deadline, next_sample = t0 + window_s, t0 + 60.0
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 5.0))
        if server.popen.poll() is not None:
            phase.problems.append("the server exited during the measure")
            return
        if time.monotonic() >= next_sample:
            phase.rss_by_minute_mib.append(server.rss() / MiB)
            next_sample += 60.0
    cpu1, rss1, t1 = server.cpu_s(), server.rss(), time.monotonic()
    for client in clients:
        client.counting = False
    mine1 = me.cpu_times()
    phase.window_s = t1 - t0
    phase.cpu_s = cpu1 - cpu0
    phase.cpu_pct = 100.0 * phase.cpu_s / phase.window_s
    phase.rss_start_mib, phase.rss_end_mib = rss0 / MiB, rss1 / MiB
    phase.system_cpu_pct = psutil.cpu_percent()
    phase.bench_cpu_pct = 100.0 * ((mine1.user + mine1.system) - (mine.user + mine.system)) / phase.window_s
    phase.frames_per_s = sum(sum(c.frames.values()) for c in clients) / len(clients) / phase.window_s
    if phase.chambers:
        fewest = min(c.frames[ch] for c in clients for ch in channels)
        phase.slowest_channel_per_s = fewest / phase.window_s
        if fewest + 1 < MIN_FRAMES_PER_S * phase.window_s:  # +1: a frame may straddle the window's edge
            phase.problems.append(
                f"data not flowing: a client got {phase.slowest_channel_per_s:.2f} frames/s on a channel"
            )
    for n, client in enumerate(clients, 1):
        if client.closed:
            phase.problems.append(f"client {n} {client.closed} during the measure")


# -- report -------------------------------------------------------------------------------
def machine() -> str:
    model = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def table(base: Phase, full: Phase) -> str:
    def both(fmt: str, attr: str) -> tuple[str, str]:
        a, b = getattr(base, attr), getattr(full, attr)
        return ("—" if a is None else fmt.format(a)), ("—" if b is None else fmt.format(b))

    ratio_cpu = f"{full.cpu_pct / base.cpu_pct:.2f}×" if base.cpu_pct else "—"
    rows = [
        ("", "(a) no chambers", f"(b) {full.chambers} chambers", "(b)/(a)", "(b) − (a)"),
        ("server CPU, % of one core", *both("{:.2f} %", "cpu_pct"), ratio_cpu,
         f"{full.cpu_pct - base.cpu_pct:+.2f} points"),
        ("  CPU s in the window", *both("{:.1f}", "cpu_s"), "", ""),
        ("  window s", *both("{:.0f}", "window_s"), "", ""),
        ("RSS at the end, MiB", *both("{:.1f}", "rss_end_mib"), f"{full.rss_end_mib / base.rss_end_mib:.2f}×",
         f"{full.rss_end_mib - base.rss_end_mib:+.1f} MiB"),
        ("  RSS at the window's start, MiB", *both("{:.1f}", "rss_start_mib"), "", ""),
        ("frames/s per client (all channels)", *both("{:.2f}", "frames_per_s"), "", ""),
        ("  slowest channel, frames/s", *both("{:.2f}", "slowest_channel_per_s"), "", ""),
        ("tick_period_s (setting)", *both("{:g}", "tick_period_s"), "", ""),
        ("machine busy, % of all cores", *both("{:.0f} %", "system_cpu_pct"), "", ""),
        ("bench clients, % of one core", *both("{:.2f} %", "bench_cpu_pct"), "", ""),
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_profile(path: Path, top: int = 25) -> None:
    if not path.exists():
        print(f"(no profile written at {path})")
        return
    print(f"\n== {path.name}: top {top} by own time (main thread only) ==")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    print(f"== {path.name}: top {top} by cumulative time ==")
    stats.sort_stats("cumulative").print_stats(top)


async def main_async(args: argparse.Namespace) -> int:
    window_s = args.minutes * 60.0
    work = Path(tempfile.mkdtemp(prefix="maelstrom-appliance-"))
    profile_dir = args.profile.resolve() if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    phases = [Phase("no chambers", 0), Phase(f"{CHAMBERS} chambers", CHAMBERS)]
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load0 = os.getloadavg()
    for phase in phases:
        if not args.json:
            print(
                f"{phase.label}: warm-up {args.warmup_s:g} s, then {args.minutes:g} min measured ...",
                flush=True,
            )
        await run_phase(phase, work, args.warmup_s, window_s, profile_dir)
    base, full = phases
    problems = [f"{p.label}: {problem}" for p in phases for problem in p.problems]
    passed = full.cpu_pct < TARGET_CPU_PCT and not problems
    if args.json:
        print(
            json.dumps(
                {"machine": machine(), "phases": [asdict(p) for p in phases], "pass": passed}, indent=2
            )
        )
    else:
        load1 = os.getloadavg()
        print(
            f"\n{machine()}; started {started}; load average {load0[0]:.2f} at start, {load1[0]:.2f} at end"
        )
        print(table(base, full))
        for phase in phases:
            trace = " ".join(f"{mib:.1f}" for mib in phase.rss_by_minute_mib)
            print(f"RSS each minute of the window, {phase.label}, MiB: {trace or '—'}")
        verdict = "PASS" if full.cpu_pct < TARGET_CPU_PCT else "FAIL"
        print(f"target: (b) under {TARGET_CPU_PCT:g} % of one core: {full.cpu_pct:.2f} % {verdict}")
        for problem in problems:
            print(f"problem: {problem}")
        if profile_dir:
            print("note: the servers ran under cProfile, which inflates their CPU time")
            for phase in phases:
                print_profile(profile_dir / f"server-{phase.chambers}-chambers.prof")
    if args.keep:
        print(f"servers' logs and data dirs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.appliance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured window per phase (default 10)")
    parser.add_argument("--warmup-s", type=float, default=30.0, help="before each window (default 30)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the servers' logs and data dirs")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run the servers under cProfile, write DIR/*.prof, print the top",
    )
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
