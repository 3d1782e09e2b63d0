"""The SSE parser: the same events however the bytes are split, and a bound on what it buffers."""

from __future__ import annotations

import itertools
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ostiary.transports.sse import Event, SseParser

LIMIT = 1024


def parse_all(chunks: list[bytes], limit: int = LIMIT) -> tuple[list[Event], SseParser]:
    parser = SseParser(limit)
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events, parser


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40)
_eol = st.sampled_from([b"\n", b"\r", b"\r\n"])
_line = st.one_of(
    st.builds(lambda v: b"data: " + v.encode(), _text),
    st.builds(lambda v: b"data:" + v.encode(), _text),
    st.builds(lambda v: b"event: " + v.encode(), _text),
    st.builds(lambda v: b"id: " + v.encode(), _text),
    st.builds(lambda v: b"retry: " + str(v).encode(), st.integers(0, 10**6)),
    st.builds(lambda v: b": " + v.encode(), _text),
    st.builds(lambda v: b"data: " + b"x" * v, st.integers(0, 2 * LIMIT)),
    st.just(b""),
)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_line, _eol), max_size=30))
    return b"".join(line + eol for line, eol in lines)


@given(streams(), st.lists(st.integers(0, 10_000), max_size=20))
def test_any_chunking_yields_the_same_events_as_one_chunk(stream: bytes, cuts: list[int]) -> None:
    whole, whole_parser = parse_all([stream])
    pieces, piece_parser = parse_all(split_at(stream, cuts))
    assert pieces == whole
    assert piece_parser.last_event_id == whole_parser.last_event_id
    assert piece_parser.retry_ms == whole_parser.retry_ms


@given(streams())
def test_byte_by_byte_feeding_yields_the_same_events_as_one_chunk(stream: bytes) -> None:
    whole, _ = parse_all([stream])
    pieces, _ = parse_all([stream[i : i + 1] for i in range(len(stream))])
    assert pieces == whole


def test_fields_multiline_data_comments_and_line_endings() -> None:
    stream = (
        b": keep-alive\r\n"
        b'event: message\r\nid: 7\r\ndata: {"a":\r\ndata:  1}\r\n\r\n'
        b"retry: 2500\rdata: second\r\r"
        b"event: endpoint\ndata: /messages?x=1\n\n"
    )
    events, parser = parse_all([stream])
    assert events == [
        Event('{"a":\n 1}', "message", "7"),
        Event("second", "message", "7"),
        Event("/messages?x=1", "endpoint", "7"),
    ]
    assert parser.retry_ms == 2500


def test_an_event_without_data_is_not_dispatched_but_its_id_is_remembered() -> None:
    events, parser = parse_all([b"id: prime-1\ndata:\n\nid: prime-2\n\n"])
    assert events == [Event("", "message", "prime-1")]
    assert parser.last_event_id == "prime-2"


def test_a_leading_byte_order_mark_is_ignored_even_when_split() -> None:
    events, _ = parse_all([b"\xef", b"\xbb\xbfdata: x\n\n"])
    assert events == [Event("x")]


def test_an_incomplete_event_at_the_end_of_the_stream_is_not_dispatched() -> None:
    events, _ = parse_all([b"data: cut off"])
    assert events == []


def test_an_oversize_event_is_dropped_with_a_log_line_and_the_next_one_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    big = b"data: " + b"y" * (LIMIT + 1) + b"\n\n"
    with caplog.at_level(logging.WARNING, logger="ostiary.transports.sse"):
        events, _ = parse_all([big[:100], big[100:], b"data: small\n\n"])
    assert events == [Event("small")]
    assert "dropped a server-sent event" in caplog.text
    assert "yyyy" not in caplog.text


def test_data_spread_over_many_lines_counts_toward_the_limit() -> None:
    line = b"data: " + b"z" * 100 + b"\n"
    events, _ = parse_all([line * 11 + b"\n" + b"data: ok\n\n"])
    assert events == [Event("ok")]


def test_an_endless_line_is_not_buffered_beyond_the_limit() -> None:
    parser = SseParser(LIMIT)
    for _ in range(100):
        assert parser.feed(b"data: " + b"w" * 1000) == []
    assert len(parser._buf) <= LIMIT + 64
    assert parser.feed(b"\n\ndata: after\n\n") == [Event("after")]
