"""JSON-RPC 2.0 envelopes: the peer's dict kept verbatim, its kind read once.

Ostiary relays messages rather than re-hosting servers, so a message is the raw dict the peer
sent. Only the envelope is validated here; what the params mean is for the session and the
inspections. Nothing here does I/O.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson

from ostiary import methods

RequestId: TypeAlias = str | int
JSON: TypeAlias = dict[str, Any]


class Kind(enum.Enum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESULT = "result"
    ERROR = "error"


class ProtocolError(Exception):
    """A message that cannot be processed; becomes a JSON-RPC error to the sender."""

    def __init__(
        self, code: int, message: str, request_id: RequestId | None = None, data: Any = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.data = data

    def to_message(self) -> Message:
        return error(self.request_id, self.code, self.message, self.data)


@dataclass(slots=True)
class Message:
    """One JSON-RPC message. `raw` is what goes on the wire; mutate only through a MODIFY verdict."""

    raw: JSON
    kind: Kind
    # Set by a transport that knows which request a message belongs to (e.g. the SSE stream of a
    # POST): the id of that request on the sender's side. Never serialised.
    related: RequestId | None = None

    @property
    def id(self) -> RequestId | None:
        value = self.raw.get("id")
        return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None

    @property
    def method(self) -> str:
        method = self.raw.get("method")
        return method if isinstance(method, str) else ""

    @property
    def params(self) -> JSON:
        params = self.raw.get("params")
        return params if isinstance(params, dict) else {}

    @property
    def result(self) -> JSON:
        result = self.raw.get("result")
        return result if isinstance(result, dict) else {}

    @property
    def error(self) -> JSON:
        err = self.raw.get("error")
        return err if isinstance(err, dict) else {}

    @property
    def is_request(self) -> bool:
        return self.kind is Kind.REQUEST

    @property
    def is_response(self) -> bool:
        return self.kind is Kind.RESULT or self.kind is Kind.ERROR

    @property
    def meta(self) -> JSON:
        source = self.params if self.kind in (Kind.REQUEST, Kind.NOTIFICATION) else self.result
        meta = source.get("_meta")
        return meta if isinstance(meta, dict) else {}

    def with_id(self, new_id: RequestId | None) -> Message:
        """A shallow copy under another id: how ids are remapped between the two sides."""
        raw = dict(self.raw)
        raw["id"] = new_id
        return Message(raw, self.kind, self.related)

    def with_params(self, params: JSON) -> Message:
        raw = dict(self.raw)
        raw["params"] = params
        return Message(raw, self.kind, self.related)

    def with_result(self, result: JSON) -> Message:
        raw = dict(self.raw)
        raw["result"] = result
        return Message(raw, self.kind, self.related)


def id_key(value: RequestId) -> tuple[bool, RequestId]:
    """A dict key that keeps `1` and `"1"` apart, as JSON-RPC requires."""
    return (isinstance(value, str), value)


def _valid_id(value: object) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def classify(obj: object) -> Message:
    """Validate one decoded JSON value as a JSON-RPC message; raise ProtocolError if it is not."""
    if not isinstance(obj, dict):
        raise ProtocolError(methods.INVALID_REQUEST, "Invalid Request: a message must be a JSON object")
    raw_id = obj.get("id")
    reply_id = raw_id if _valid_id(raw_id) else None
    if obj.get("jsonrpc") != "2.0":
        raise ProtocolError(methods.INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', reply_id)
    if "method" in obj:
        if not isinstance(obj["method"], str) or not obj["method"]:
            raise ProtocolError(
                methods.INVALID_REQUEST, 'Invalid Request: "method" must be a string', reply_id
            )
        if "params" in obj and not isinstance(obj["params"], dict):
            raise ProtocolError(
                methods.INVALID_REQUEST, 'Invalid Request: "params" must be an object', reply_id
            )
        if "id" not in obj:
            return Message(obj, Kind.NOTIFICATION)
        if not _valid_id(raw_id):
            raise ProtocolError(methods.INVALID_REQUEST, 'Invalid Request: "id" must be a string or integer')
        return Message(obj, Kind.REQUEST)
    has_result, has_error = "result" in obj, "error" in obj
    if has_result == has_error:
        raise ProtocolError(
            methods.INVALID_REQUEST, "Invalid Request: neither a request nor a response", reply_id
        )
    if has_error:
        err = obj["error"]
        if (
            not isinstance(err, dict)
            or not isinstance(err.get("code"), int)
            or not isinstance(err.get("message"), str)
        ):
            raise ProtocolError(methods.INVALID_REQUEST, "Invalid Request: malformed error object", reply_id)
        if raw_id is not None and not _valid_id(raw_id):
            raise ProtocolError(methods.INVALID_REQUEST, 'Invalid Request: "id" must be a string or integer')
        return Message(obj, Kind.ERROR)
    if not _valid_id(raw_id):
        raise ProtocolError(
            methods.INVALID_REQUEST, 'Invalid Request: a result needs a string or integer "id"'
        )
    return Message(obj, Kind.RESULT)


def loads(data: bytes | str) -> object:
    """Decode JSON; orjson for speed, the standard library for what orjson refuses.

    Integers are exact across the whole signed and unsigned 64-bit range; beyond it orjson yields
    an IEEE double, as JavaScript peers (most MCP servers) do for every number. Detecting such
    integers costs a scan of every message, which the message path does not pay.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(methods.PARSE_ERROR, "Parse error: not valid JSON") from exc


def parse(data: bytes | str) -> Message:
    """Decode and validate exactly one message (batches are handled by the caller)."""
    obj = loads(data)
    if isinstance(obj, list):
        raise ProtocolError(
            methods.INVALID_REQUEST, "Invalid Request: batches are not supported at this version"
        )
    return classify(obj)


def dumps(message: Message | JSON) -> bytes:
    raw = message.raw if isinstance(message, Message) else message
    try:
        return orjson.dumps(raw)
    except TypeError:
        return json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode()


def request(request_id: RequestId, method: str, params: JSON | None = None) -> Message:
    raw: JSON = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        raw["params"] = params
    return Message(raw, Kind.REQUEST)


def notification(method: str, params: JSON | None = None) -> Message:
    raw: JSON = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        raw["params"] = params
    return Message(raw, Kind.NOTIFICATION)


def result(request_id: RequestId, value: JSON) -> Message:
    return Message({"jsonrpc": "2.0", "id": request_id, "result": value}, Kind.RESULT)


def error(request_id: RequestId | None, code: int, text: str, data: Any = None) -> Message:
    err: JSON = {"code": code, "message": text}
    if data is not None:
        err["data"] = data
    return Message({"jsonrpc": "2.0", "id": request_id, "error": err}, Kind.ERROR)
