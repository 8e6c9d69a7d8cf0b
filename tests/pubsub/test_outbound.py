"""The per-connection bounded queue, with a stream whose writes finish when the test says."""

import asyncio
import socket
from concurrent.futures import Future

import pytest
from tornado.iostream import IOStream

from app.pubsub.outbound import CHUNK_BYTES, DirectWriter, FlushScheduler, OutboundQueue


class ManualLoop:
    def __init__(self):
        self.callbacks = []

    def call_soon(self, callback):
        self.callbacks.append(callback)

    def run_pending(self):
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()


class Stream:
    """Each write returns a future the test completes, like a socket that drains when it can."""

    def __init__(self, finish_at_once=False):
        self.writes = []
        self.pending = []
        self.finish_at_once = finish_at_once

    def write(self, data):
        self.writes.append(data)
        future = Future()
        if self.finish_at_once:
            future.set_result(None)
        else:
            self.pending.append(future)
        return future

    def drain(self):
        pending, self.pending = self.pending, []
        for future in pending:
            future.set_result(None)


def make_queue(stream, max_bytes=1000):
    loop = ManualLoop()
    overflows = []
    scheduler = FlushScheduler(loop.call_soon)
    queue = OutboundQueue(stream.write, max_bytes, lambda: overflows.append(True), scheduler)
    return queue, loop, overflows


def test_a_lone_frame_is_written_at_once_without_waiting_for_the_next_loop_iteration():
    stream = Stream(finish_at_once=True)
    queue, loop, _ = make_queue(stream)
    queue.put(b"a")
    assert stream.writes == [b"a"]
    loop.run_pending()
    queue.put(b"b")  # a later iteration's lone frame goes at once too
    assert stream.writes == [b"a", b"b"]
    assert queue.unsent_bytes == 0


def test_a_burst_in_one_iteration_is_the_first_frame_then_the_rest_as_one_write_in_order():
    stream = Stream(finish_at_once=True)
    queue, loop, _ = make_queue(stream)
    for part in (b"a", b"b", b"c", b"d"):
        queue.put(part)
    assert stream.writes == [b"a"]
    loop.run_pending()
    assert stream.writes == [b"a", b"bcd"]
    assert queue.unsent_bytes == 0


def test_while_a_write_is_in_flight_new_frames_wait_and_then_follow_in_order():
    stream = Stream()
    queue, loop, _ = make_queue(stream)
    queue.put(b"1")
    loop.run_pending()
    queue.put(b"2")
    queue.put(b"3")
    loop.run_pending()
    assert stream.writes == [b"1"]  # still in flight: the rest waits for it
    assert queue.unsent_bytes == 3
    stream.drain()
    assert stream.writes == [b"1", b"23"]


def test_unsent_data_past_the_limit_closes_once_and_drops_everything():
    stream = Stream()
    queue, loop, overflows = make_queue(stream, max_bytes=100)
    queue.put(b"x" * 60)
    loop.run_pending()  # 60 bytes in flight, the reader is not reading
    assert queue.put(b"y" * 40) is True  # exactly at the limit
    assert queue.put(b"z") is False
    assert overflows == [True]
    assert queue.closed and queue.queued_bytes == 0
    assert queue.put(b"w") is False
    assert overflows == [True]


def test_writes_are_cut_into_chunks_so_the_stream_buffer_stays_small():
    stream = Stream(finish_at_once=True)
    queue, loop, _ = make_queue(stream, max_bytes=10 * CHUNK_BYTES)
    frame = b"f" * 1024
    for _ in range(200):
        queue.put(frame)
    loop.run_pending()
    assert b"".join(stream.writes) == frame * 200
    assert len(stream.writes) <= 1 + 200 * 1024 // CHUNK_BYTES + 1
    assert max(len(w) for w in stream.writes) <= CHUNK_BYTES


def test_a_failed_write_closes_the_queue():
    stream = Stream()
    queue, loop, _ = make_queue(stream)
    queue.put(b"1")
    loop.run_pending()
    stream.pending[0].set_exception(OSError("reset"))
    assert queue.closed


@pytest.mark.gen_test
async def test_direct_writes_keep_order_when_the_kernel_buffer_fills_and_the_stream_takes_over():
    """Frames go straight to the socket while the stream has nothing queued, and through the
    stream once the kernel stops taking them; the reader gets every byte, in order."""
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    stream = IOStream(ours)
    scheduler = FlushScheduler(asyncio.get_running_loop().call_soon)
    queue = OutboundQueue(DirectWriter(stream), 10_000_000, lambda: None, scheduler)
    # Tornado's own writes (ping, pong, close) go to the stream: what it holds goes first
    own = b"P" * 300_000
    stream.write(own)
    assert stream.writing()
    received = bytearray()
    while True:  # the reader drains the kernel buffer before the loop refills it from the stream
        try:
            received += theirs.recv(1 << 16)
        except BlockingIOError:
            break
    frames = [b"%06d:" % i + b"x" * 1000 for i in range(2000)]  # ~2 MB: far past the buffers
    for index, frame in enumerate(frames):
        queue.put(frame)
        if index % 50 == 0:
            await asyncio.sleep(0)  # new loop iterations: each one's first frame goes direct
    assert stream.writing()  # the kernel stopped taking bytes: the stream holds the rest
    expected = own + b"".join(frames)
    while len(received) < len(expected):
        try:
            received += theirs.recv(1 << 16)
        except BlockingIOError:
            await asyncio.sleep(0.001)
    assert bytes(received) == expected
    stream.close()
    theirs.close()
