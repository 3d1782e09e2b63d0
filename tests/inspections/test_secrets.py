import json
from typing import Any

import jsonschema
import pytest

from ostiary import messages, methods
from ostiary.config import Config, ConfigError
from ostiary.inspections import secrets
from ostiary.pipeline import Action, Hook
from ostiary.testing import exchange, judge, tool_call, tool_result

KEY = "AKIAZ3XQ7PLMWERT5YHU"


def inspection(**options: Any) -> secrets.SecretsInspection:
    return secrets.build(options, Config())


async def test_a_key_in_a_result_is_redacted_in_text_and_structured_content() -> None:
    structured = {"config": {"key": KEY, "replicas": 3}}
    verdict = await judge(
        inspection(), tool_result("srv", "read", json.dumps(structured), structured=structured)
    )
    assert verdict.action is Action.MODIFY
    assert verdict.code == secrets.REDACTED
    assert verdict.replacement is not None
    result = verdict.replacement.result
    assert KEY not in json.dumps(result)
    assert json.loads(result["content"][0]["text"])["config"]["key"] == "[REDACTED:secret.aws-access-token]"
    assert result["structuredContent"] == {
        "config": {"key": "[REDACTED:secret.aws-access-token]", "replicas": 3}
    }
    assert verdict.details["rules"] == ["secret.aws-access-token"]
    assert verdict.details["count"] == 2
    # Every redaction is recorded: where, which rule, how sure, what was done; never the value.
    assert {(f["path"], f["rule"], f["action"]) for f in verdict.details["findings"]} == {
        ("/content/0/text", "secret.aws-access-token", "redact"),
        ("/structuredContent/config/key", "secret.aws-access-token", "redact"),
    }
    assert KEY not in json.dumps(verdict.details)


async def test_a_key_in_tool_arguments_is_blocked_with_a_result_the_model_can_read() -> None:
    verdict = await judge(
        inspection(), tool_call("srv", "write_file", {"path": "a.env", "content": f"K={KEY}"})
    )
    assert verdict.action is Action.DENY
    assert verdict.code == secrets.BLOCKED
    result = verdict.details[secrets.TOOL_RESULT]
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert "/content" in text and "credential" in text and "secret.aws-access-token" in text
    assert KEY not in json.dumps(verdict.details) and KEY not in verdict.reason


async def test_arguments_are_redacted_only_for_tools_named_for_it() -> None:
    guard = inspection(redact_arguments=["srv/post"], actions={"secret.*": {"arguments": "redact"}})
    verdict = await judge(guard, tool_call("srv", "post", {"body": f"my key is {KEY}", "n": 1}))
    assert verdict.code == secrets.REDACTED
    assert verdict.replacement is not None
    assert verdict.replacement.params["arguments"] == {
        "body": "my key is [REDACTED:secret.aws-access-token]",
        "n": 1,
    }
    assert verdict.replacement.params["name"] == "post"
    other = await judge(guard, tool_call("srv", "write_file", {"content": f"my key is {KEY}"}))
    assert other.code == secrets.BLOCKED


async def test_actions_differ_by_kind_and_direction() -> None:
    guard = inspection(
        actions={"secret.*": {"arguments": "block", "results": "block"}, "pii.*": {"arguments": "warn"}}
    )
    mail = "write to anna.novak@posteo.de"
    warned = await judge(guard, tool_call("srv", "send", {"to": mail}))
    assert warned.is_allow and warned.code == secrets.WARNED
    assert warned.details["findings"][0]["kind"] == "personal data"
    redacted = await judge(guard, tool_result("srv", "read", mail))
    assert redacted.code == secrets.REDACTED
    blocked = await judge(guard, tool_result("srv", "read", f"key {KEY}"))
    assert blocked.code == secrets.BLOCKED


async def test_allow_lets_a_kind_through_unrecorded() -> None:
    guard = inspection(actions={"pii.email": "allow"})
    assert (await judge(guard, tool_result("srv", "read", "write to anna.novak@posteo.de"))).is_allow
    assert (await judge(guard, tool_result("srv", "read", "write to anna.novak@posteo.de"))).code == "allow"


async def test_block_refuses_instead_of_redacting() -> None:
    verdict = await judge(inspection(action="block"), tool_result("srv", "read", f"key {KEY}"))
    assert verdict.action is Action.DENY
    assert verdict.code == secrets.BLOCKED
    assert KEY not in verdict.reason


async def test_a_per_tool_allowlist_permits_named_rules_only() -> None:
    guard = inspection(allow={"mail/*": ["pii.*"]})
    text = f"from anna.novak@posteo.de key {KEY}"
    verdict = await judge(guard, tool_result("mail", "read_inbox", text))
    assert verdict.details["rules"] == ["secret.aws-access-token"]
    assert verdict.replacement is not None
    assert "anna.novak@posteo.de" in verdict.replacement.result["content"][0]["text"]
    assert (await judge(guard, tool_result("mail", "read_inbox", "from anna.novak@posteo.de"))).is_allow


async def test_results_without_secrets_pass_unchanged() -> None:
    assert (
        await judge(
            inspection(), tool_result("srv", "read", "commit 3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c")
        )
    ).is_allow


async def test_resource_contents_are_redacted() -> None:
    result = {"contents": [{"uri": "file:///.env", "text": f"AWS_ACCESS_KEY_ID={KEY}\n"}]}
    case = (messages.result(1, result), exchange(methods.RESOURCES_READ, "srv", "file:///.env"))
    verdict = await judge(inspection(), case, Hook.SERVER_RESPONSE)
    assert verdict.replacement is not None
    assert (
        verdict.replacement.result["contents"][0]["text"]
        == "AWS_ACCESS_KEY_ID=[REDACTED:secret.aws-access-token]\n"
    )


async def test_a_key_in_a_server_error_message_is_redacted() -> None:
    error = messages.error(1, -32603, f"upstream rejected key {KEY}", {"key": KEY})
    verdict = await judge(
        inspection(), (error, exchange(methods.TOOLS_CALL, "srv", "read")), Hook.SERVER_RESPONSE
    )
    assert verdict.code == secrets.REDACTED
    assert verdict.replacement is not None
    assert verdict.replacement.error == {
        "code": -32603,
        "message": "upstream rejected key [REDACTED:secret.aws-access-token]",
        "data": {"key": "[REDACTED:secret.aws-access-token]"},
    }


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(ConfigError):
        inspection(action="hide")
    with pytest.raises(ConfigError):
        inspection(actions={"secret.*": "hide"})
    with pytest.raises(ConfigError):
        inspection(actions={"secret.*": {"inbound": "block"}})
    with pytest.raises(ConfigError):
        inspection(redact_arguments="srv/*")
    with pytest.raises(ConfigError):
        inspection(kinds=["passwords"])
    with pytest.raises(ConfigError):
        inspection(allow=["x"])


async def test_a_result_larger_than_the_scan_budget_is_refused() -> None:
    huge = "x" * (8 * 1024 * 1024 + 1)
    verdict = await judge(inspection(), tool_result("srv", "dump", huge))
    assert verdict.action is Action.DENY
    assert verdict.code == secrets.TOO_LARGE


async def test_a_redacted_structured_result_still_validates_against_its_output_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "user": {
                "type": "object",
                "properties": {"email": {"type": "string"}, "age": {"type": "integer"}},
            },
            "tokens": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["user", "tokens"],
    }
    structured = {"user": {"email": "anna.novak@posteo.de", "age": 41}, "tokens": [KEY, "plain"]}
    jsonschema.validate(structured, schema)
    verdict = await judge(
        inspection(), tool_result("srv", "who", json.dumps(structured), structured=structured)
    )
    assert verdict.replacement is not None
    redacted = verdict.replacement.result["structuredContent"]
    jsonschema.validate(redacted, schema)
    assert redacted["user"] == {"email": "[REDACTED:pii.email]", "age": 41}
    assert json.loads(verdict.replacement.result["content"][0]["text"]) == redacted


async def test_every_one_of_many_keys_in_one_string_is_redacted() -> None:
    keys = [f"ghp_{i:02d}" + "Zx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL2" for i in range(40)]
    verdict = await judge(inspection(), tool_result("srv", "dump", " ".join(keys)))
    assert verdict.replacement is not None
    text = verdict.replacement.result["content"][0]["text"]
    assert text.count("[REDACTED:secret.github-pat]") == 40
    assert "ghp_" not in text


async def test_more_findings_of_one_rule_than_it_reads_refuses_the_message() -> None:
    addresses = " ".join(f"user{i}@posteo.de" for i in range(5000))
    verdict = await judge(inspection(), tool_result("srv", "dump", addresses))
    assert verdict.action is Action.DENY
    assert verdict.code == secrets.TOO_LARGE


async def test_a_servers_opaque_request_state_passes_untouched_whatever_it_looks_like() -> None:
    """2026-07-28: the client hands `requestState` back to the server that made it, unread; a
    random state that happens to look like a key must not be redacted (the retry would fail),
    while what the model reads in the same result still is."""
    state = "ghp_" + "Z3xQ7pLmWeRt5YhU9kJ2nB4vC6aS8dF0gH1j"
    result = {
        "resultType": "input_required",
        "inputRequests": {
            "ask": {
                "method": "sampling/createMessage",
                "params": {"messages": [{"role": "user", "content": {"type": "text", "text": f"key {KEY}"}}]},
            }
        },
        "requestState": state,
    }
    verdict = await judge(
        inspection(), (messages.result(1, result), exchange(methods.TOOLS_CALL, "srv", "ask"))
    )
    assert verdict.action is Action.MODIFY
    assert verdict.replacement is not None
    assert verdict.replacement.result["requestState"] == state
    assert KEY not in json.dumps(verdict.replacement.result)


async def test_a_request_state_outside_an_input_required_result_is_read_like_any_field() -> None:
    """Only the InputRequiredResult's state is opaque; a server cannot hide a key from the guard
    by naming a field of an ordinary result `requestState`."""
    result = {"content": [{"type": "text", "text": "done"}], "requestState": KEY}
    verdict = await judge(
        inspection(), (messages.result(1, result), exchange(methods.TOOLS_CALL, "srv", "t"))
    )
    assert verdict.action is Action.MODIFY
    assert verdict.replacement is not None
    assert KEY not in json.dumps(verdict.replacement.result)
