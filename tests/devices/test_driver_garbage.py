"""The driver against a scripted in-process transport: garbage never crashes it, a reply
that does not match the request is not taken for it, a silent board is noticed."""

import asyncio

import pytest

from devices.driver import BoardDriver, BoardError, BoardUnavailable

IDENTITY = b'N:{"fw":"maelstrom","v":"1.0.0","proto":1,"board":"uno","uptime_s":5}\n'


class ScriptedTransport:
    """Answers each command with the bytes a test scripted for its letter."""

    description = "scripted"

    def __init__(self, script):
        self.script = script  # letter -> bytes to send back (or None: stay silent)
        self.sent = []
        self.on_data = None
        self.on_lost = None
        self.closed = False

    async def open(self, on_data, on_lost):
        self.on_data, self.on_lost = on_data, on_lost

    def write(self, data):
        self.sent.append(data)
        reply = self.script.get(data[:1].decode())
        if reply is not None:
            chunks = reply if isinstance(reply, list) else [reply]
            loop = asyncio.get_running_loop()
            for delay, chunk in enumerate(chunks):
                loop.call_later(0.001 * (delay + 1), self.on_data, chunk)

    def close(self):
        self.closed = True


async def online_driver(script, **kwargs):
    transport = ScriptedTransport({"n": IDENTITY, **script})
    events = []
    driver = BoardDriver(lambda: transport, request_timeout_s=0.2, on_event=events.append, **kwargs)
    driver.start()
    await driver.wait_online(2)
    return driver, transport, events


@pytest.mark.gen_test
async def test_interleaved_logs_partial_lines_and_garbage_do_not_disturb_the_reply():
    reply = [
        b'D:{"level":"W","msg":"probe 2 CRC"}\n',  # a log line first
        b"\xff\xfegarbage\nZ:{}\n" + b"Q" * 300 + b"\n",  # not ASCII, unknown letter, over-long
        b'T:{"s":{"1":19.',  # half the reply...
        b'94,"2":null},"o":{"3":{"on":false,"hold_s":120}}}\r\n',  # ...and the rest, CRLF
    ]
    driver, _, events = await online_driver({"t": reply})
    reading = await driver.read()
    assert reading.sensors == {1: 19.94, 2: None}
    assert reading.outputs[3].hold_s == 120
    kinds = [event.kind for event in events]
    assert "log" in kinds and kinds.count("garbage") >= 3
    assert {"level": "W", "msg": "probe 2 CRC"} in [event.detail for event in events if event.kind == "log"]
    await driver.stop()


@pytest.mark.gen_test
async def test_a_reply_to_another_command_is_not_taken_for_this_one():
    wrong_then_right = [b'O:{"slot":3,"on":true,"hold_s":0}\n', b'W:{"s":30}\n']
    driver, _, events = await online_driver({"w": wrong_then_right})
    await driver.feed_deadman(30)  # completes only with the W reply
    assert any("does not answer w" in event.detail.get("reason", "") for event in events)
    await driver.stop()


@pytest.mark.gen_test
async def test_error_reply_raises_board_error():
    driver, _, _ = await online_driver({"c": b'E:{"code":"bad_config","msg":"pin 13 is not free"}\n'})
    with pytest.raises(BoardError) as caught:
        await driver.configure({"slot": 3, "kind": "output", "pin": 13})
    assert caught.value.code == "bad_config"
    await driver.stop()


@pytest.mark.gen_test
async def test_out_of_range_values_are_dropped_not_used():
    driver, _, events = await online_driver({"t": b'T:{"s":{"1":300,"2":-80,"3":21.5},"o":{}}\n'})
    reading = await driver.read()
    assert reading.sensors == {1: None, 2: None, 3: 21.5}
    assert sum(event.kind == "garbage" for event in events) == 2
    await driver.stop()


@pytest.mark.gen_test
async def test_refused_output_reports_why_and_how_long():
    driver, _, _ = await online_driver({"o": b'O:{"slot":3,"on":false,"why":"min_off","hold_s":120}\n'})
    state = await driver.set_output(3, True)
    assert (state.on, state.why, state.hold_s) == (False, "min_off", 120.0)
    await driver.stop()


@pytest.mark.gen_test
async def test_no_reply_to_three_requests_takes_the_board_offline_at_once():
    driver, transport, events = await online_driver({"t": None})
    for _ in range(3):
        with pytest.raises(BoardUnavailable):
            await driver.read()
    assert not driver.online
    assert transport.closed
    assert [e.detail["reason"] for e in events if e.kind == "offline"] == ["no reply to 3 requests"]
    await driver.stop()


@pytest.mark.gen_test
async def test_lost_link_fails_the_pending_request_and_reconnects_reapplying_slots():
    transports = []

    def connect():
        transport = ScriptedTransport({"n": IDENTITY, "c": b'C:{"slot":1}\n', "t": None})
        transports.append(transport)
        return transport

    events = []
    driver = BoardDriver(connect, request_timeout_s=5, backoff_s=(0.05, 0.1), on_event=events.append)
    driver.start()
    await driver.wait_online(2)
    await driver.configure({"slot": 1, "kind": "sensor", "onewire": "28FF4A1B05160352", "offset": 0})
    pending = asyncio.ensure_future(driver.read())
    await asyncio.sleep(0.01)
    transports[0].on_lost("cable pulled")
    with pytest.raises(BoardUnavailable):
        await asyncio.wait_for(pending, 1)  # at once, not after the 5 s timeout
    await driver.wait_online(2)
    assert len(transports) == 2
    assert [line[:1] for line in transports[1].sent] == [b"n", b"c"]  # re-identified, slot re-applied
    assert [e.kind for e in events if e.kind in ("online", "offline")] == ["online", "offline", "online"]
    await driver.stop()


@pytest.mark.gen_test
async def test_boot_line_is_noticed():
    driver, transport, events = await online_driver({})
    transport.on_data(b'B:{"reason":"watchdog"}\n')
    await asyncio.sleep(0.01)
    assert [e.detail for e in events if e.kind == "boot"] == [{"reason": "watchdog"}]
    await driver.stop()


@pytest.mark.gen_test
async def test_something_that_is_not_a_maelstrom_board_is_refused():
    transport = ScriptedTransport({"n": b'N:{"fw":"brewpi","v":"0.2"}\n'})
    driver = BoardDriver(lambda: transport, request_timeout_s=0.2, backoff_s=(0.05, 0.05))
    driver.start()
    with pytest.raises(asyncio.TimeoutError):
        await driver.wait_online(0.3)
    await driver.stop()


@pytest.mark.gen_test
async def test_switch_inputs_are_read_and_a_bad_one_is_garbage_not_a_reading():
    reply = b'T:{"s":{"1":21.5},"o":{},"i":{"6":true,"7":"yes","8":false}}\n'
    driver, transport, events = await online_driver({"t": reply, "c": b'C:{"slot":6,"kind":"input"}\n'})
    await driver.configure({"slot": 6, "kind": "input", "pin": 7, "invert": False})
    assert transport.sent[-1] == b'c{"slot":6,"kind":"input","pin":7,"invert":false}\n'
    reading = await driver.read()
    assert reading.inputs == {6: True, 8: False} and reading.sensors == {1: 21.5}
    [garbage] = [event for event in events if event.kind == "garbage"]
    assert "input '7'" in garbage.detail["reason"]
    await driver.stop()


@pytest.mark.gen_test
async def test_a_board_that_refuses_an_input_slot_still_comes_online_and_says_so():
    # firmware older than input slots: "kind must be sensor, output or none"
    refused = b'E:{"code":"bad_config","msg":"kind must be sensor, output or none"}\n'
    transport = ScriptedTransport({"n": IDENTITY, "c": refused})
    events = []
    driver = BoardDriver(lambda: transport, request_timeout_s=0.2, on_event=events.append)
    driver.slots = {7: {"slot": 7, "kind": "input", "pin": 7, "invert": False}}
    driver.start()
    await driver.wait_online(2)
    [log] = [event for event in events if event.kind == "log"]
    assert log.detail["level"] == "W" and "input slot 7 refused" in log.detail["msg"]
    await driver.stop()
    # a refused output still keeps the board offline: control without it is not safe
    transport = ScriptedTransport({"n": IDENTITY, "c": refused})
    driver = BoardDriver(lambda: transport, request_timeout_s=0.2, backoff_s=(0.05, 0.05))
    driver.slots = {3: {"slot": 3, "kind": "output", "pin": 5}}
    driver.start()
    with pytest.raises(asyncio.TimeoutError):
        await driver.wait_online(0.3)
    await driver.stop()
