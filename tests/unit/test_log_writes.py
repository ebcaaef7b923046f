"""How the log handler puts lines on its stream: whole lines, in order, from any number of threads at once."""

from __future__ import annotations

import io
import json
import os
import threading

import pytest

import telemetry.logs
from telemetry.logs import ATOMIC_LINE_BYTES, _TelemetryHandler

THREADS = 16
LINES_PER_THREAD = 200


def _read_all(fd: int, into: bytearray) -> None:
    while chunk := os.read(fd, 65536):
        into.extend(chunk)


@pytest.fixture
def pipe():
    """A pipe with a thread draining its read end: ``(writable stream, bytes read so far, wait_closed)``."""
    read_fd, write_fd = os.pipe()
    received = bytearray()
    reader = threading.Thread(target=_read_all, args=(read_fd, received))
    reader.start()
    stream = open(write_fd, "w", encoding="utf-8")  # closed by closed(): the reader then sees the end

    def closed() -> bytes:
        if not stream.closed:
            stream.close()
        reader.join(timeout=10)
        return bytes(received)

    yield stream, closed
    closed()
    os.close(read_fd)


def test_lines_written_by_sixteen_threads_at_once_to_a_pipe_come_out_whole(pipe):
    stream, closed = pipe
    handler = _TelemetryHandler(stream)
    start = threading.Barrier(THREADS)

    def write(thread: int) -> None:
        start.wait()
        for n in range(LINES_PER_THREAD):
            padding = "x" * (200 + (thread * 997 + n * 131) % (ATOMIC_LINE_BYTES - 300))  # 200 B to nearly PIPE_BUF
            handler.write_line(json.dumps({"thread": thread, "n": n, "padding": padding}))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    lines = closed().decode().splitlines()
    records = [json.loads(line) for line in lines]  # a line cut or mixed with another is not JSON
    assert sorted((r["thread"], r["n"]) for r in records) == [
        (t, n) for t in range(THREADS) for n in range(LINES_PER_THREAD)
    ]


def test_a_line_longer_than_pipe_buf_arrives_whole(pipe):
    stream, closed = pipe
    line = json.dumps({"traceback": "frame\n" * (3 * ATOMIC_LINE_BYTES // 6)})
    assert len(line) > ATOMIC_LINE_BYTES

    _TelemetryHandler(stream).write_line(line)

    assert closed() == (line + "\n").encode()


def test_a_write_the_kernel_cuts_short_is_finished(tmp_path, monkeypatch):
    """``write(2)`` may write less than asked (a signal, a full disk that then frees up): the rest follows."""
    real_write = os.write
    calls = []

    def short_write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real_write(fd, data[:7])

    monkeypatch.setattr(telemetry.logs.os, "write", short_write)
    path = tmp_path / "out.log"
    with open(path, "w", encoding="utf-8") as stream:
        _TelemetryHandler(stream).write_line('{"message": "cut short"}')

    assert path.read_text() == '{"message": "cut short"}\n'
    assert len(calls) > 1


def test_what_was_written_through_the_stream_before_stays_before(tmp_path):
    path = tmp_path / "out.log"
    with open(path, "w", encoding="utf-8") as stream:  # buffered: "first" waits in the stream's buffer
        stream.write("first\n")
        _TelemetryHandler(stream).write_line("second")
        stream.write("third\n")

    assert path.read_text() == "first\nsecond\nthird\n"


def test_a_stream_without_a_file_descriptor_gets_the_line_through_the_stream():
    stream = io.StringIO()

    _TelemetryHandler(stream).write_line('{"message": "captured"}')

    assert stream.getvalue() == '{"message": "captured"}\n'


def test_a_line_is_encoded_as_the_stream_says(tmp_path):
    path = tmp_path / "latin.log"
    with open(path, "w", encoding="latin-1") as stream:
        _TelemetryHandler(stream).write_line("café")

    assert path.read_bytes() == "café\n".encode("latin-1")
