"""The board rules, checked twice against one set of scenarios.

Every file in devices/firmware/scenarios/ runs on the Python `SimulatedFirmware` and on the
C++ reference core (built with g++ together with host/scenario_runner.cpp). Each runner prints
a transcript (what the board sent, every pin edge, the answers to state queries); one checker
holds both transcripts to the scenario's expectations, and the two transcripts must agree.
The scenario format is described in devices/firmware/README.md.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from collections import defaultdict, deque
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devices.protocol import MAX_LINE, BadLine, parse_line
from devices.simulator.firmware import MAX_OUTPUTS, MAX_SLOTS, SimulatedFirmware

FIRMWARE = Path(__file__).resolve().parents[2] / "devices" / "firmware"
SCENARIOS = sorted((FIRMWARE / "scenarios").glob("*.txt"))
CORE = FIRMWARE / "core"
RUNNER_SOURCE = FIRMWARE / "host" / "scenario_runner.cpp"
DEFAULT_PINS = [2, 3, 4, 5, 6, 7]
ACTIONS = {"boot", "send", "send_padded", "send_hex"}


# -- scenario lines -----------------------------------------------------------------------------
def directives(scenario: str) -> list[tuple[int, str, str]]:
    """(line number, directive, rest of the line); `at T directive` gives ("at", T) first."""
    out: list[tuple[int, str, str]] = []
    for number, text in enumerate(scenario.splitlines(), start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        word, _, rest = text.partition(" ")
        if word == "at":
            time, _, rest = rest.partition(" ")
            out.append((number, "at", time))
            if not rest:
                continue
            word, _, rest = rest.partition(" ")
        out.append((number, word, rest))
    return out


def _ms(text: str) -> int:
    value = Decimal(text) * 1000
    if value != value.to_integral_value():
        raise ValueError(f"time {text} is finer than 1 ms")
    return int(value)


def _padded(size: int, line: str) -> bytes:
    """`line` with spaces before its closing brace, `size` bytes long."""
    if not line.endswith("}") or len(line) > size:
        raise ValueError("send_padded needs a line ending in } no longer than the size")
    return (line[:-1] + " " * (size - len(line)) + "}").encode("ascii")


def _reading(text: str) -> float | None:
    return None if text == "crc" else float(text)


# -- the Python runner --------------------------------------------------------------------------
def run_python(scenario: str, firmware: type[SimulatedFirmware] = SimulatedFirmware) -> list[str]:
    """Run a scenario on the Python firmware; returns its transcript."""
    now_ms = 0
    pins = list(DEFAULT_PINS)
    roms: list[str] = []
    readings: dict[str, float | None] = {}
    levels: dict[int, bool] = {}  # pin -> high; a pin nothing pulls low reads high (pull-up)
    board: SimulatedFirmware | None = None
    out: list[str] = []

    def clock() -> float:
        return now_ms / 1000

    def read_rom(rom: str) -> float | None:
        return readings.get(rom, -127.0)  # a probe that is not on the bus does not answer

    for number, word, rest in directives(scenario):
        args = rest.split()
        edges_before = len(board.edges) if board else 0
        lines: list[bytes] = []
        if word == "pins":
            pins = [int(arg) for arg in args]
        elif word == "rom":
            roms.append(args[0])
            readings[args[0]] = _reading(args[1]) if len(args) > 1 else 20.0
        elif word == "sensor":
            readings[args[0]] = _reading(args[1])
        elif word == "input":
            if args[1] not in ("high", "low"):
                raise ValueError("input level must be high or low")
            levels[int(args[0])] = args[1] == "high"
        elif word == "at":
            now_ms = _ms(rest)
            lines = board.poll() if board else []
        elif word == "boot":
            if board is None:
                board = firmware(clock, read_rom, roms, pins, "host", read_pin=lambda p: levels.get(p, True))
            lines = board.boot(rest)
        elif word == "send":
            lines = board.handle(rest.encode("ascii"))
        elif word == "send_padded":
            size, _, line = rest.partition(" ")
            lines = board.handle(_padded(int(size), line))
        elif word == "send_hex":
            lines = board.handle(bytes.fromhex(rest))
        elif word == "expect_pin":
            out.append(f"{number} pin {args[0]} {'on' if board.pin_on(int(args[0])) else 'off'}")
        elif word == "expect_output":
            out.append(f"{number} output {args[0]} {'on' if board.output_on(int(args[0])) else 'off'}")
        out += [f"{number} line {line.decode('ascii').removesuffix(chr(10))}" for line in lines]
        for edge in board.edges[edges_before:] if board else []:
            state = "on" if edge.on else "off"
            out.append(f"{number} edge {round(edge.t * 1000)} {edge.slot} {edge.pin} {state}")
    return out


# -- the C++ runner -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def cpp_runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_runner(tmp_path_factory.mktemp("firmware"), [])


def build_runner(directory: Path, defines: list[str]) -> Path:
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.fail("g++ is needed to check the reference firmware's core")
    binary = directory / "scenario_runner"
    sources = [str(path) for path in sorted(CORE.glob("*.cpp"))] + [str(RUNNER_SOURCE)]
    command = [compiler, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-O1", *defines, f"-I{CORE}"]
    result = subprocess.run([*command, *sources, "-o", str(binary)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return binary


def run_cpp(binary: Path, scenario_file: Path) -> list[str]:
    result = subprocess.run([str(binary), str(scenario_file)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


# -- the checker --------------------------------------------------------------------------------
def same(a: Any, b: Any) -> bool:
    """JSON equality where 1 == 1.0 but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _board_line(text: str) -> tuple[str, dict[str, Any]]:
    line = parse_line(text.encode("ascii"))
    if isinstance(line, BadLine):
        raise AssertionError(f"{text!r} is not a board line: {line.reason}")
    return line.letter, line.body


def check(scenario: str, transcript: list[str]) -> list[str]:
    """Hold a transcript to the scenario's expectations; returns the failures."""
    entries: dict[int, list[list[str]]] = defaultdict(list)
    for entry in transcript:
        number, kind, rest = entry.split(" ", 2)
        entries[int(number)].append([kind, rest])
    failures: list[str] = []
    replies: deque[tuple[int, str]] = deque()
    logs: deque[tuple[int, str]] = deque()
    edges: deque[tuple[int, list[str]]] = deque()
    pairs = [tuple(rest.split()) for _, word, rest in directives(scenario) if word == "never_together"]
    level: dict[str, bool] = {}
    now_ms = 0
    queued_line = 0  # `at T send ...` is one scenario line: its entries are queued once

    def leftovers(number: int) -> None:
        for source, queue in (("line", replies), ("log", logs), ("edge", edges)):
            while queue:
                failures.append(f"line {number}: unexpected {source} {queue.popleft()}")

    for number, word, rest in directives(scenario):
        args = rest.split()
        if word == "at":
            now_ms = _ms(rest)
        if (word in ACTIONS or word == "at") and number != queued_line:
            queued_line = number
            leftovers(number)
            for kind, text in entries.get(number, []):
                if kind == "line":
                    if len(text) > MAX_LINE:
                        failures.append(f"line {number}: board line over {MAX_LINE} bytes: {text}")
                    (logs if text.startswith("D:") else replies).append((number, text))
                elif kind == "edge":
                    t_ms, _slot, pin, state = text.split()
                    if int(t_ms) != now_ms:
                        failures.append(f"line {number}: edge at {t_ms} ms, not now ({now_ms})")
                    edges.append((number, [pin, state]))
                    level[pin] = state == "on"
                    for a, b in pairs:
                        if level.get(a) and level.get(b):
                            failures.append(f"line {number}: pins {a} and {b} on together")
        elif word == "expect":
            if not replies:
                failures.append(f"line {number}: expected {rest}, the board sent nothing")
                continue
            _, text = replies.popleft()
            (want_letter, want_body), (letter, body) = _board_line(rest), _board_line(text)
            if want_letter != letter or not same(want_body, body):
                failures.append(f"line {number}: expected {rest}\n    got {text}")
        elif word == "expect_log":
            if not logs:
                failures.append(f"line {number}: expected a log {rest}, none was sent")
                continue
            _, text = logs.popleft()
            body = _board_line(text)[1]
            if body.get("level") != args[0] or rest.split(" ", 1)[1] not in body.get("msg", ""):
                failures.append(f"line {number}: expected log {rest}\n    got {text}")
        elif word == "expect_edge":
            if not edges or edges[0][1] != args:
                got = edges[0] if edges else "no edge"
                failures.append(f"line {number}: expected edge {rest}, got {got}")
            if edges:
                edges.popleft()
        elif word in ("expect_pin", "expect_output"):
            kind = word.removeprefix("expect_")
            got = [text for k, text in entries.get(number, []) if k == kind]
            if got != [rest]:
                failures.append(f"line {number}: expected {kind} {rest}, got {got}")
    leftovers(len(scenario.splitlines()) + 1)
    return failures


def _same_entry(a: str, b: str) -> bool:
    """Transcript entries are equal; board lines by their JSON, so 20.0 equals 20.00."""
    (number_a, kind_a, rest_a), (number_b, kind_b, rest_b) = a.split(" ", 2), b.split(" ", 2)
    if (number_a, kind_a) != (number_b, kind_b) or kind_a != "line":
        return a == b
    (letter_a, body_a), (letter_b, body_b) = _board_line(rest_a), _board_line(rest_b)
    return letter_a == letter_b and same(body_a, body_b)


def _assert_same_transcripts(python: list[str], cpp: list[str]) -> None:
    for index, (a, b) in enumerate(zip(python, cpp, strict=False)):
        assert _same_entry(a, b), f"entry {index}: python {a!r} vs C++ {b!r}"
    assert len(python) == len(cpp), f"python gave {len(python)} entries, C++ {len(cpp)}"


# -- the tests ----------------------------------------------------------------------------------
def test_there_are_scenarios_for_every_rule():
    names = {path.stem for path in SCENARIOS}
    assert len(SCENARIOS) >= 10, names
    text = "\n".join(path.read_text() for path in SCENARIOS)
    for why in ("min_on", "min_off", "interlock", "dead_time"):
        assert f'"why":"{why}"' in text
    for code in ("unknown_command", "bad_json", "bad_slot", "bad_config"):
        assert f'"code":"{code}"' in text
    for directive in ("expect_pin", "expect_edge", "expect_log W dead-man", "never_together", "send_padded"):
        assert directive in text
    assert '"kind":"input"' in text and '"i":{' in text and "input 7 low" in text


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda path: path.stem)
def test_python_firmware_meets_the_scenario(scenario: Path):
    text = scenario.read_text()
    failures = check(text, run_python(text))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda path: path.stem)
def test_cpp_core_meets_the_scenario_like_python(cpp_runner: Path, scenario: Path):
    text = scenario.read_text()
    transcript = run_cpp(cpp_runner, scenario)
    failures = check(text, transcript)
    assert not failures, "\n".join(failures)
    _assert_same_transcripts(run_python(text), transcript)


def test_a_firmware_without_min_off_fails_the_scenarios(tmp_path: Path):
    """The scenarios catch a broken rule, in C++ and in Python."""
    broken = build_runner(tmp_path, ["-DMAELSTROM_BREAK_MIN_OFF"])
    text = (FIRMWARE / "scenarios" / "compressor_min_times.txt").read_text()
    failures = check(text, run_cpp(broken, FIRMWARE / "scenarios" / "compressor_min_times.txt"))
    assert any("min_off" in failure for failure in failures), failures

    class NoDeadTime(SimulatedFirmware):
        def _hold(self, slot, config, now):  # type: ignore[no-untyped-def]
            why, hold_ms = super()._hold(slot, config, now)
            return (None, 0) if why == "dead_time" else (why, hold_ms)

    text = (FIRMWARE / "scenarios" / "heat_cool_dead_time.txt").read_text()
    failures = check(text, run_python(text, NoDeadTime))
    assert any("dead_time" in failure for failure in failures), failures
    assert any("on together" in failure or "unexpected edge" in failure for failure in failures)


def test_an_input_read_the_wrong_way_round_fails_the_scenario():
    """The inputs scenario catches a board that reports a closed contact as open."""

    class Inverted(SimulatedFirmware):
        def _reading(self, now):  # type: ignore[no-untyped-def]
            reading = super()._reading(now)
            if "i" in reading:
                reading["i"] = {slot: not active for slot, active in reading["i"].items()}
            return reading

    text = (FIRMWARE / "scenarios" / "inputs.txt").read_text()
    failures = check(text, run_python(text, Inverted))
    assert any('"i":' in failure for failure in failures), failures


def _random_line(rng: random.Random) -> str:
    """A command that is usually valid, sometimes out of range, sometimes mangled."""
    pick = rng.choice
    numbers = ["0", "-0", "1", "3", "9", "1.5", "1E2", "86400", "86401", "99999999999", "null", "true"]
    letter = pick("ooooooccctwnhx") if rng.random() > 0.005 else "r"
    fields: list[tuple[str, str]] = []
    if letter == "o":
        fields = [
            ("slot", pick(["3", "4", "3", "4", "5", "1", "9"])),
            ("on", pick(["true", "false"] * 4 + ["1"])),
        ]
    elif letter == "w":
        fields = [("s", pick(["1", "2", "4", "30", "600", "601", "0", "2.5"]))]
    elif letter == "c" and rng.random() < 0.25:
        fields = [
            ("slot", pick(["1", "2", "6", "7", "8", "3"])),
            ("kind", pick(['"input"'] * 6 + ['"none"', '"Input"'])),
            ("pin", pick(["7", "4", "5", "2", "13", "7.0", '"7"'])),
            ("invert", pick(["true", "false", "null", "0"])),
        ]
    elif letter == "c" and rng.random() < 0.5:
        offset = pick(["-0.125", "0.145", "1e-1", "5.005", "4.9999", "-5.0049", "1e999", '"1"', "2"])
        rom = pick(['"28FF4A1B05160352"', '"28ff4a1b05160352"', '"28FF4A1B0516035"', '"\\u00e9"'])
        fields = [("slot", pick(["1", "2", "8"])), ("kind", '"sensor"'), ("onewire", rom), ("offset", offset)]
    elif letter == "c":
        fields = [
            ("slot", pick(["3", "4", "5", "6"])),
            ("kind", pick(['"output"'] * 6 + ['"none"', '"relay"'])),
        ]
        fields += [("pin", pick(["5", "6", "7", "2", "13"])), ("invert", pick(["true", "false", "0"]))]
        for key in ("min_on_s", "min_off_s", "group", "dead_s"):
            fields.append((key, pick(["0", "1", "2", "5", "1"] + numbers)))
    fields = [field for field in fields if rng.random() > 0.08]
    if rng.random() < 0.1:
        fields.insert(
            rng.randrange(len(fields) + 1), (pick(["x", "slot", "sl\\u006ft", "on"]), pick(numbers))
        )
    line = letter + "{" + ",".join(f'"{key}":{value}' for key, value in fields) + "}"
    if rng.random() < 0.05:
        cut = rng.randrange(1, len(line) + 1)
        line = line[:cut] + pick([",", "}", '"', " ", "\\", "01", "-", "tru", "{}", "[1]"]) + line[cut:]
    return line


def test_python_and_cpp_agree_on_random_command_lines(cpp_runner: Path, tmp_path: Path):
    """Differential check: thousands of odd lines, one transcript."""
    rng = random.Random(1763)
    lines = ["pins 2 3 4 5 6 7", "rom 28FF4A1B05160352 19.9375", "boot power"]
    lines += ['send c{"slot":1,"kind":"sensor","onewire":"28FF4A1B05160352","offset":-0.1}']
    lines += ['send c{"slot":3,"kind":"output","pin":5,"min_on_s":5,"min_off_s":7,"group":1,"dead_s":3}']
    lines += ['send c{"slot":4,"kind":"output","pin":6,"group":1,"dead_s":2}', 'send w{"s":4}']
    now_ms = 0
    for _ in range(4000):
        now_ms += rng.choice([0, 1, 250, 999, 1000, 3000])
        if rng.random() < 0.1:  # a switch opens or closes on one of the pins
            lines.append(f"input {rng.choice([2, 4, 5, 7])} {rng.choice(['high', 'low'])}")
        lines.append(f"at {now_ms / 1000:.3f} send {_random_line(rng)}")
    scenario = tmp_path / "random.txt"
    scenario.write_text("\n".join(lines) + "\n")
    _assert_same_transcripts(run_python(scenario.read_text()), run_cpp(cpp_runner, scenario))


@pytest.mark.parametrize("rest", ["sensors", "inputs", "mixed"])
def test_the_longest_replies_fit_in_a_line(rest: str):
    """Slots and outputs are limited so that a T: reply can never exceed MAX_LINE, whatever
    the slots left beside the outputs hold: sensors, inputs (the `i` table) or both."""
    board = SimulatedFirmware(
        lambda: 0.0, lambda rom: -55.0, [f"28{i:014X}" for i in range(10)], list(range(20)), read_pin=bool
    )
    board.boot()
    outputs = [{"kind": "output", "pin": 10 + slot, "min_off_s": 86400} for slot in range(1, MAX_OUTPUTS + 1)]
    sensors = [{"kind": "sensor", "onewire": f"28{slot:014X}", "offset": -4.99} for slot in range(MAX_SLOTS)]
    inputs = [{"kind": "input", "pin": slot, "invert": False} for slot in range(1, MAX_SLOTS)]  # pin 0 high
    others = {"sensors": sensors, "inputs": inputs, "mixed": [inputs[0], sensors[0]]}[rest]
    for slot, config in enumerate(outputs + others, start=1):
        if slot <= MAX_SLOTS:
            assert board.handle(b"c" + json.dumps({"slot": slot, **config}).encode())[0].startswith(b"C:")
    for letter in (b"t", b"h", b"n"):
        (reply,) = board.handle(letter)
        assert len(reply) <= MAX_LINE + 1, reply
    if rest != "sensors":
        assert b'"i":{' in board.handle(b"t")[0]


def test_the_core_has_no_arduino_headers():
    """The core builds anywhere: only <stdint.h> and its own headers; no heap, no exceptions."""
    own = {path.name for path in CORE.glob("*.h")}
    for path in sorted(CORE.glob("*.[ch]*")):
        code = re.sub(r"//.*|/\*.*?\*/", "", path.read_text(), flags=re.S)
        for header in re.findall(r'#\s*include\s*[<"]([^>"]+)[>"]', code):
            assert header == "stdint.h" or header in own, f"{path.name} includes {header}"
        banned = re.findall(r"\b(Arduino|avr/|new|delete|malloc|free|throw|try|catch|std::|String)\b", code)
        assert not banned, f"{path.name} uses {banned}"


@pytest.mark.parametrize("sketch", ["maelstrom_uno/maelstrom_uno.ino", "maelstrom_spark/maelstrom_spark.ino"])
def test_the_sketches_use_the_core_and_have_a_watchdog(sketch: str):
    text = (FIRMWARE / sketch).read_text()
    assert '#include "maelstrom_board.h"' in text
    assert "57600" in text and "handleLine" in text and "poll(" in text
    if "uno" in sketch:
        assert "wdt_enable" in text and "MCUSR" in text and "EEPROM" in text
    else:
        assert "TCPServer" in text and "6666" in text
