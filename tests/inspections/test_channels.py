"""Every channel gets the configured action: under `warn` a log line, a progress message and an
error are marked as untrusted data; under `redact` a secret is replaced wherever it travels."""

from __future__ import annotations

from ostiary import messages, methods
from ostiary.config import Config
from ostiary.detection.payload import UNTRUSTED_CLOSE
from ostiary.inspections import injection, secrets
from ostiary.pipeline import Action, Hook
from ostiary.testing import exchange, judge
from ostiary.testing.hostile_server import INJECTION, LEAKED_KEY


async def test_warn_marks_a_log_line_and_a_progress_message() -> None:
    warn = injection.build({"action": "warn"}, Config())
    log = messages.notification(methods.MESSAGE, {"level": "info", "data": INJECTION})
    progress = messages.notification(
        methods.PROGRESS, {"progressToken": "t", "progress": 1, "message": INJECTION}
    )
    for message, key in ((log, "data"), (progress, "message")):
        verdict = await judge(warn, (message, exchange(message.method)), Hook.SERVER_NOTIFICATION)
        assert verdict.action is Action.MODIFY
        assert verdict.replacement is not None
        assert verdict.replacement.params[key].endswith(UNTRUSTED_CLOSE)
        assert verdict.replacement.params.get("progressToken") == message.params.get("progressToken")


async def test_warn_marks_an_error_message_and_keeps_its_code() -> None:
    warn = injection.build({"action": "warn"}, Config())
    error = messages.error(1, -32000, INJECTION, {"detail": INJECTION})
    verdict = await judge(warn, (error, exchange(methods.TOOLS_CALL, target="t")))
    assert verdict.action is Action.MODIFY
    assert verdict.replacement is not None
    assert verdict.replacement.error["code"] == -32000
    assert verdict.replacement.error["message"].endswith(UNTRUSTED_CLOSE)


async def test_a_clean_notification_passes_untouched() -> None:
    block = injection.build({}, Config())
    log = messages.notification(methods.MESSAGE, {"level": "info", "data": "indexed 42 files"})
    verdict = await judge(block, (log, exchange(methods.MESSAGE)), Hook.SERVER_NOTIFICATION)
    assert verdict.action is Action.ALLOW


async def test_secrets_are_redacted_in_an_elicitation_and_in_a_requests_meta() -> None:
    redact = secrets.build({}, Config())
    ask = messages.request(
        1, methods.ELICITATION_CREATE, {"message": f"Confirm {LEAKED_KEY}", "requestedSchema": {}}
    )
    asked = await judge(redact, (ask, exchange(methods.ELICITATION_CREATE)), Hook.SERVER_REQUEST)
    call = messages.request(
        2, methods.TOOLS_CALL, {"name": "t", "arguments": {}, "_meta": {"auth": LEAKED_KEY}}
    )
    called = await judge(redact, (call, exchange(methods.TOOLS_CALL, target="t")))
    assert asked.replacement is not None and LEAKED_KEY not in str(asked.replacement.raw)
    # A secret the client sends, in `_meta` as in the arguments, blocks the call by default.
    assert called.code == secrets.BLOCKED
    assert called.details["findings"][0]["path"].startswith("/_meta")
