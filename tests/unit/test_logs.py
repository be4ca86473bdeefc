"""The buffered log writer: no line lost across threads, nothing written until a flush (so a
request never writes), and the success sampler never drops an error."""

from __future__ import annotations

import io
import threading

from webapp.identity.crypto import UniqueIds
from webapp.logs import REQUEST_ID, BufferedWriter, _sampler


class Sink(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.buffer = io.BytesIO()  # type: ignore[misc]


def test_lines_wait_for_the_flush_and_none_is_lost_across_threads():
    sink = Sink()
    out = BufferedWriter(sink, interval=60)  # the writer thread will not wake by itself

    def burst(n: int) -> None:
        for i in range(500):
            out.write(f'{{"t":{n},"i":{i}}}'.encode())

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sink.buffer.getvalue() == b""  # queued, not written by the requests
    out.flush()
    lines = sink.buffer.getvalue().splitlines()
    assert len(lines) == 2000 and len(set(lines)) == 2000
    out.flush()
    assert len(sink.buffer.getvalue().splitlines()) == 2000  # nothing written twice


def test_str_lines_are_accepted_too():
    sink = Sink()
    out = BufferedWriter(sink, interval=60)
    out.write("console line")
    out.flush()
    assert sink.buffer.getvalue() == b"console line\n"


def test_sampling_keeps_every_error():
    never = _sampler(0.0)
    assert [never(s) for s in (200, 204, 302)] == [False, False, False]
    assert all(never(s) for s in (400, 401, 403, 404, 429, 500, 503))
    always = _sampler(1.0)
    assert all(always(s) for s in (200, 500))
    half = _sampler(0.5)
    kept = sum(half(200) for _ in range(4000))
    assert 1600 < kept < 2400


def test_request_ids_are_unique_and_well_formed():
    ids = UniqueIds(prefix_bytes=6, sep="-")
    seen = {ids.next() for _ in range(10_000)}
    assert len(seen) == 10_000
    assert all(REQUEST_ID.match(i) for i in seen)  # an id we hand out we would also accept
    other = UniqueIds(prefix_bytes=6, sep="-")
    assert not seen & {other.next() for _ in range(100)}  # another process's prefix
