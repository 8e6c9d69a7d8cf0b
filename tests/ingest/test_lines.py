"""The line parser (protocol.md §6): every form, every refusal, and no input that raises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ingest.lines import AuthLine, LineError, SampleLine, parse_line
from app.ingest.sink import Sample

NOW_S = 1_763_892_000.0  # 2025-11-23T10:00:00Z
NOW_MS = int(NOW_S * 1000)


def sample(line: str | bytes) -> Sample:
    parsed = parse_line(line, NOW_S)
    assert isinstance(parsed, SampleLine), parsed
    return parsed.sample


def refused(line: str | bytes) -> str:
    parsed = parse_line(line, NOW_S)
    assert isinstance(parsed, LineError), parsed
    assert "\n" not in parsed.reason and "\r" not in parsed.reason and parsed.reason.isascii()
    return parsed.reason


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("beer_temp 19.5", Sample("beer_temp", NOW_MS, "measurement", 19.5)),
        ("beer_temp -0.25", Sample("beer_temp", NOW_MS, "measurement", -0.25)),
        ("beer_temp 2e1", Sample("beer_temp", NOW_MS, "measurement", 20.0)),
        ("beer_temp .5", Sample("beer_temp", NOW_MS, "measurement", 0.5)),
        ("airlock +1", Sample("airlock", NOW_MS, "counter", 1.0)),
        ("airlock +0.5", Sample("airlock", NOW_MS, "counter", 0.5)),
        ('note "dry hopped 50 g Citra"', Sample("note", NOW_MS, "event", text="dry hopped 50 g Citra")),
        (r'note "say \"hi\" C:\\brew"', Sample("note", NOW_MS, "event", text='say "hi" C:\\brew')),
        ('note "Würze 12 °P @ mash"', Sample("note", NOW_MS, "event", text="Würze 12 °P @ mash")),
        ("pump =on", Sample("pump", NOW_MS, "state", text="on")),
        ("valve/main =half-open", Sample("valve/main", NOW_MS, "state", text="half-open")),
        ("cellar/room.temp-2 12", Sample("cellar/room.temp-2", NOW_MS, "measurement", 12.0)),
        ("  beer_temp \t 19.5  ", Sample("beer_temp", NOW_MS, "measurement", 19.5)),
    ],
)
def test_every_form_parses(line, expected):
    assert sample(line) == expected
    assert sample(line.encode()) == expected  # as bytes off the socket, too


@pytest.mark.parametrize(
    ("suffix", "ts_ms"),
    [
        ("@1763891000", 1_763_891_000_000),
        ("@1763891000.25", 1_763_891_000_250),
        ("@2025-11-23T09:00:00Z", 1_763_888_400_000),
        ("@2025-11-23T10:00:00+01:00", 1_763_888_400_000),
        ("@2025-11-23T09:00:00.5-00:00", 1_763_888_400_500),
        ("@946684800", 946_684_800_000),  # 2000-01-01, the oldest accepted
        (f"@{NOW_S + 300:.0f}", NOW_MS + 300_000),  # 5 minutes ahead, the latest
    ],
)
def test_timestamps_in_every_accepted_form(suffix, ts_ms):
    for line in (
        f"beer_temp 19.5 {suffix}",
        f"airlock +1 {suffix}",
        f'note "x" {suffix}',
        f"pump =on {suffix}",
    ):
        assert sample(line).ts_ms == ts_ms, line


def test_auth_lines():
    assert parse_line("AUTH abc-DEF_123", NOW_S) == AuthLine("abc-DEF_123")
    assert parse_line(b"AUTH  tok  ", NOW_S) == AuthLine("tok")
    assert "needs a token" in refused("AUTH")
    assert "one token" in refused("AUTH two tokens")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("", "empty line"),
        ("   \t ", "empty line"),
        ("beer_temp", "value is missing"),
        ("Beer_temp 19.5", "bad series name"),
        ("beer temp 19.5", "not a number"),
        ("beer_temp 19,5", "use a decimal point"),
        ("b" * 65 + " 1", "1-64 characters"),
        ("beer/ 1", "a name on each side"),
        ("/beer 1", "a name on each side"),
        ("a//b 1", "a name on each side"),
        ("chamber/1/beer 20", "server's own"),
        ("chamber 20", "server's own"),
        ("beer_temp nan", "not a number"),
        ("beer_temp inf", "not a number"),
        ("beer_temp 1e999", "finite"),
        ("beer_temp 0x10", "not a number"),
        ("beer_temp 1_000", "not a number"),
        ("airlock +", "not a number"),
        ("airlock +-1", "cannot be negative"),
        ("airlock +1e999", "finite"),
        ("pump =", "state"),
        ("pump =o n", "after the value"),
        ('pump ="on"', "state"),
        ("pump =" + "x" * 65, "state"),
        ('note "unclosed', "no closing quote"),
        (r'note "bad \n escape"', "unknown escape"),
        ('note "trailing backslash\\', "unknown escape"),
        ('note ""', "non-empty"),
        ('note "tab\there"', "control character"),
        ('note "x"y', "right after the closing quote"),
        ('note "' + "x" * 1001 + '"', "longer than 1000"),
        ("beer_temp 19.5 20", "only @<ts> may follow"),
        ("beer_temp 19.5 @", "needs a timestamp"),
        ("beer_temp 19.5 @1763891000 extra", "after the timestamp"),
        ("beer_temp 19.5 @yesterday", "neither epoch seconds nor ISO 8601"),
        ("beer_temp 19.5 @2025-11-23T09:00:00", "needs a zone"),
        ("beer_temp 19.5 @2025-11-23", "needs a zone"),
        ("beer_temp 19.5 @2025-13-45T00:00:00Z", "neither epoch seconds nor ISO 8601"),
        ("beer_temp 19.5 @946684799", "before 2000"),
        ("beer_temp 19.5 @1999-12-31T23:59:59Z", "before 2000"),
        (f"beer_temp 19.5 @{NOW_S + 301:.0f}", "in the future"),
        ("beer_temp 19.5 @1763891000000", "not milliseconds"),
        ("beer_temp 19.5 @-5", "neither epoch seconds nor ISO 8601"),
        ("beer_temp 19.5 @0001-01-01T00:00:00+01:00", "before 2000"),
        ("beer_temp 19.5 @9999-12-31T23:59:59-12:00", "in the future"),
        ("auth", "value is missing"),  # only the upper-case word is AUTH; this is a series
    ],
)
def test_every_bad_line_is_refused_with_a_reason(line, words):
    assert words in refused(line)


def test_bytes_that_are_not_utf8_are_refused():
    assert "not UTF-8" in refused(b"beer_temp \xff19.5")


def test_reasons_quote_input_safely_on_one_line():
    reason = refused("Beer\x00\x1b[2J\u2028 1")
    assert "\\x00" in reason and "\\x1b" in reason


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_any_input_gives_a_result_never_an_exception(line):
    parsed = parse_line(line, NOW_S)
    assert isinstance(parsed, AuthLine | SampleLine | LineError)
    if isinstance(parsed, LineError):
        assert parsed.reason and "\n" not in parsed.reason and parsed.reason.isascii()


ALPHABET = st.sampled_from(list('abz09_./- "\\=+@:TZ.e-') + ["1763891000", "2025-11-23T09:00:00Z", "AUTH"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_near_miss_lines_never_raise_and_accepted_ones_are_valid(line):
    """Lines built from the protocol's own pieces reach deep into the parser."""
    parsed = parse_line(line, NOW_S)
    if isinstance(parsed, SampleLine):
        got = parsed.sample
        assert 946_684_800_000 <= got.ts_ms <= NOW_MS + 300_000
        assert (got.value is None) == (got.kind in ("event", "state"))
        assert not got.series.startswith("chamber")


def test_iso_and_epoch_mean_the_same_instant():
    moment = datetime(2025, 11, 23, 9, 30, tzinfo=UTC)
    assert sample(f"x 1 @{moment.timestamp():.0f}").ts_ms == sample("x 1 @2025-11-23T09:30:00Z").ts_ms
