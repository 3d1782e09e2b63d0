"""The approvals JSON API on `ostiary serve`: list, show and decide held calls over HTTP.

For the console and for chat bots. The reviewer is the caller the gateway authenticated (the same
tokens and API keys as `/mcp`), so separation of duties holds here as everywhere: a requester
never decides their own request unless its approvers say `self`. A caller sees only requests
they made or may decide.

    GET  /approvals[?status=all]      {"requests": [...]}         pending ones unless status=all
    GET  /approvals/{id}              the request
    POST /approvals/{id}              {"decision": "approve"|"deny", "reason": "..."} -> the request
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from ostiary.approvals.request import PENDING, ApprovalRequest, ReviewError, refusal
from ostiary.client_side.asgi import Request, Response, json_reply
from ostiary.identity import Principal

PATH = "/approvals"
MAX_BODY = 16 * 1024
STATUS = {"not_found": 404, "not_pending": 409, "conflict": 409, "refused": 403, "unavailable": 503}


def handles(path: str) -> bool:
    return path == PATH or path.startswith(PATH + "/")


def _error(status: int, code: str, message: str) -> Response:
    return json_reply({"error": code, "message": message}, status)


def _visible(request: ApprovalRequest, principal: Principal) -> bool:
    return request.principal == principal.subject or refusal(request, principal) is None


def now_us() -> int:
    return time.time_ns() // 1000


async def handle(request: Request, principal: Principal, service: Any) -> Response:
    """Answer one API request from an authenticated `principal`; `service` is the ApprovalService."""
    from ostiary.store import StoreError  # noqa: PLC0415  (running, the service has loaded the store)

    if service is None or service.store is None:
        return _error(503, "unavailable", "the approval service is not running")
    request_id = request.path[len(PATH) + 1 :] if request.path != PATH else ""
    try:
        if request.method == "GET" and not request_id:
            every = request.query_params.get("status") == "all"
            found = await service.store.recent(None if every else [PENDING], 200)
            now = now_us()
            shown = [r.summary(now, service.stale_us) for r in found if _visible(r, principal)]
            return json_reply({"requests": shown})
        if not request_id or "/" in request_id:
            return _error(404, "not_found", "no such approval request")
        if request.method == "GET":
            one = await service.store.get(request_id)
            if one is None or not _visible(one, principal):
                return _error(404, "not_found", "no such approval request")
            return json_reply(one.summary(now_us(), service.stale_us))
        return await _decide(request, request_id, principal, service)
    except StoreError:
        return _error(503, "unavailable", "the store could not be reached")


async def _decide(request: Request, request_id: str, principal: Principal, service: Any) -> Response:
    body = await request.body(MAX_BODY)
    if body is None:
        return _error(413, "too_large", "the body is too large")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error(400, "invalid", "the body must be JSON")
    decision = data.get("decision") if isinstance(data, dict) else None
    reason = data.get("reason", "") if isinstance(data, dict) else ""
    if decision not in ("approve", "deny") or not isinstance(reason, str) or len(reason) > 1000:
        return _error(400, "invalid", 'send {"decision": "approve" or "deny", "reason": "…"}')
    try:
        decided = await service.decide_as(request_id, principal, decision == "approve", reason, "api")
    except ReviewError as exc:
        return _error(STATUS.get(exc.code, 400), exc.code, str(exc))
    return json_reply(decided.summary(now_us(), service.stale_us))
