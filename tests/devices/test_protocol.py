"""Board protocol lines: parsing never raises on garbage and says why a line is dropped."""

import pytest

from devices.driver import parse_reading
from devices.protocol import BadLine, Line, LineSplitter, encode, input_config, parse_line


def test_commands_and_replies_round_trip():
    assert encode("c", {"slot": 1, "kind": "sensor"}) == b'c{"slot":1,"kind":"sensor"}\n'
    assert encode("n") == b"n\n"
    assert encode("T", {"s": {"1": 19.94}}) == b'T:{"s":{"1":19.94}}\n'
    assert parse_line(b'T:{"s":{"1":19.94}}') == Line("T", {"s": {"1": 19.94}})
    assert parse_line(b"n\r") == Line("n", {})
    assert parse_line(b'B:{"reason":"power"}') == Line("B", {"reason": "power"})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"\xff\xfe", "not ASCII"),
        (b"9:{}", "does not start with a letter"),
        (b'T{"s":{}}', "without ':'"),
        (b"T:{oops", "invalid JSON"),
        (b"T:[1,2]", "not an object"),
        (b'T:{"s":{"1":NaN}}', "invalid JSON"),
        (b'T:{"s":{"1":1e999}}', "non-finite"),
        (b"T:" + b"x" * 300, "longer than 256"),
    ],
)
def test_garbage_becomes_a_bad_line_with_a_reason(raw, reason):
    line = parse_line(raw)
    assert isinstance(line, BadLine)
    assert reason in line.reason


def test_encode_refuses_lines_the_board_could_not_take():
    with pytest.raises(ValueError):
        encode("c", {"name": "x" * 300})


def test_splitter_handles_partial_lines_and_drops_over_long_ones_whole():
    splitter = LineSplitter()
    assert splitter.feed(b'N:{"fw":') == []
    assert splitter.feed(b'"maelstrom"}\nD:{"level":"I"') == [b'N:{"fw":"maelstrom"}']
    assert splitter.feed(b',"msg":"hi"}\r\n') == [b'D:{"level":"I","msg":"hi"}\r']
    out = splitter.feed(b"X" * 300)
    assert len(out) == 1 and isinstance(out[0], BadLine)
    assert splitter.feed(b"Y" * 100 + b"\nT:{}\n") == [b"T:{}"]  # the long line's tail is dropped too


def test_reading_keeps_valid_values_and_reports_the_rest():
    problems = []
    reading = parse_reading(
        {
            "s": {"1": 19.94, "2": None, "3": 400, "4": "hot", "99": 20, "5": True},
            "o": {"3": {"on": False, "hold_s": 120}, "4": {"on": "yes"}, "6": {"on": True, "hold_s": -1}},
        },
        problems,
    )
    assert reading.sensors == {1: 19.94, 2: None, 3: None, 4: None, 5: None}
    assert list(reading.outputs) == [3]
    assert reading.outputs[3].hold_s == 120
    assert len(problems) == 6


def test_inputs_are_read_from_the_i_table():
    problems = []
    reading = parse_reading({"s": {}, "o": {}, "i": {"6": True, "7": False}}, problems)
    assert reading.inputs == {6: True, 7: False} and problems == []
    # a board without input slots (or older firmware) sends no `i`: nothing read, nothing wrong
    reading = parse_reading({"s": {"1": 19.5}, "o": {}}, problems)
    assert reading.inputs == {} and problems == []


@pytest.mark.parametrize(
    ("table", "kept", "why"),
    [
        ({"6": 1}, {}, "not true or false"),
        ({"6": "true"}, {}, "not true or false"),
        ({"6": None}, {}, "not true or false"),
        ({"6": {"on": True}}, {}, "not true or false"),
        ({"0": True, "7": True}, {7: True}, "slot 1-32"),
        ({"33": False, "x": True, "7": False}, {7: False}, "slot 1-32"),
        ([True], {}, "'i' is not an object"),
        ("open", {}, "'i' is not an object"),
        (None, {}, "'i' is not an object"),
    ],
)
def test_a_bad_input_value_is_a_problem_and_no_reading(table, kept, why):
    problems = []
    reading = parse_reading({"s": {"1": 19.5}, "o": {}, "i": table}, problems)
    assert reading.inputs == kept
    assert problems and all(why in problem for problem in problems)
    assert reading.sensors == {1: 19.5}  # the rest of the reply is still used


def test_an_input_line_parses_and_an_input_config_is_checked():
    line = parse_line(b'T:{"s":{},"o":{},"i":{"7":true}}')
    assert line == Line("T", {"s": {}, "o": {}, "i": {"7": True}})
    assert encode("c", input_config(7, 7)) == b'c{"slot":7,"kind":"input","pin":7,"invert":false}\n'
    assert input_config(8, 2, True)["invert"] is True
    for bad in ((0, 7, False), (7, -1, False), (7, 256, False), (7, True, False), (7, "7", False), (7, 7, 1)):
        with pytest.raises(ValueError):
            input_config(*bad)
