"""stdio framing: one message per line, and what happens to a line over the limit."""

import asyncio

from ostiary.transports.framing import Oversize, read_line


async def lines(data: bytes, limit: int = 128) -> list[object]:
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    out: list[object] = []
    while True:
        try:
            line = await read_line(reader)
        except Oversize as exc:
            out.append(("oversize", exc.request_id()))
            continue
        if line is None:
            return out
        out.append(line)


async def test_an_oversize_line_is_dropped_whole_and_the_next_one_is_intact() -> None:
    big = b'{"jsonrpc":"2.0","id":3,"result":{"t":"' + b"x" * 1000 + b'"}}'
    assert await lines(b'{"a":1}\n' + big + b'\n{"b":2}\n') == [b'{"a":1}', ("oversize", 3), b'{"b":2}']


async def test_the_id_of_an_oversize_response_is_found_whichever_end_it_is_at() -> None:
    tail_id = b'{"result":{"t":"' + b"x" * 1000 + b'","id":99},"jsonrpc":"2.0","id":"req-7"}\n'
    assert await lines(tail_id) == [("oversize", "req-7")]


async def test_a_nested_id_is_never_mistaken_for_the_envelope_id() -> None:
    note = b'{"jsonrpc":"2.0","method":"m","params":{"t":"' + b"x" * 1000 + b'","id":5}}\n'
    assert await lines(note) == [("oversize", None)]


async def test_a_last_line_without_newline_is_still_read() -> None:
    assert await lines(b'{"a":1}\n{"b":2}') == [b'{"a":1}', b'{"b":2}']
