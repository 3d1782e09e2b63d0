"""JSON-RPC envelope validation: what the gateway accepts from either side, and what it refuses."""

import pytest

from ostiary import messages, methods
from ostiary.messages import Kind, ProtocolError


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}', Kind.REQUEST),
        (b'{"jsonrpc":"2.0","id":"a","method":"x","params":{}}', Kind.REQUEST),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', Kind.NOTIFICATION),
        (b'{"jsonrpc":"2.0","id":1,"result":{}}', Kind.RESULT),
        (b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}', Kind.ERROR),
    ],
)
def test_valid_envelopes_are_classified(raw: bytes, kind: Kind) -> None:
    assert messages.parse(raw).kind is kind


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", methods.PARSE_ERROR),
        (b'"a string"', methods.INVALID_REQUEST),
        (b'{"id":1,"method":"x"}', methods.INVALID_REQUEST),
        (b'{"jsonrpc":"1.0","id":1,"method":"x"}', methods.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":null,"method":"x"}', methods.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":true,"method":"x"}', methods.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}', methods.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":""}', methods.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"m"}}', methods.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}', methods.INVALID_REQUEST),
        (b'[{"jsonrpc":"2.0","id":1,"method":"x"}]', methods.INVALID_REQUEST),
    ],
)
def test_malformed_input_is_refused_with_the_right_code(raw: bytes, code: int) -> None:
    with pytest.raises(ProtocolError) as caught:
        messages.parse(raw)
    assert caught.value.code == code


def test_an_invalid_request_keeps_its_id_when_it_has_a_usable_one() -> None:
    with pytest.raises(ProtocolError) as caught:
        messages.parse(b'{"jsonrpc":"2.0","id":7,"method":"x","params":"nope"}')
    assert caught.value.to_message().raw["id"] == 7


def test_unknown_fields_and_meta_survive_a_round_trip() -> None:
    raw = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"x/y":1}},"new":true}'
    message = messages.parse(raw)
    again = messages.parse(messages.dumps(message))
    assert again.raw == message.raw
    assert again.raw["new"] is True and again.meta == {"x/y": 1}


def test_integers_across_the_whole_64_bit_range_are_kept_exactly() -> None:
    raw = b'{"jsonrpc":"2.0","id":1,"result":{"n":[18446744073709551615,-9223372036854775808,9007199254740993]}}'  # noqa: E501
    message = messages.parse(raw)
    assert message.result["n"] == [18446744073709551615, -9223372036854775808, 9007199254740993]
    assert messages.dumps(message) == raw


def test_ids_1_and_string_1_are_different_requests() -> None:
    assert messages.id_key(1) != messages.id_key("1")


def test_remapping_an_id_does_not_touch_the_original() -> None:
    message = messages.request(5, "ping")
    copy = message.with_id(9)
    assert message.id == 5 and copy.id == 9
