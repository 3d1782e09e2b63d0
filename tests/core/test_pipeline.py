"""The pipeline's contract: order, enforce vs monitor, failing closed, holds, and observers."""

import asyncio

import pytest

from ostiary import messages
from ostiary.messages import Message
from ostiary.pipeline import (
    ALLOW,
    Decision,
    Exchange,
    Hook,
    Inspection,
    Mode,
    Pipeline,
    Stage,
    Verdict,
    allow,
    deny,
    hold,
    modify,
)
from ostiary.testing import judge, tool_call


class Says(Inspection):
    name = "says"

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.seen: list[Message] = []

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        self.seen.append(message)
        return self.verdict


class Raises(Inspection):
    name = "raises"

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        raise RuntimeError("secret payload text")


class Sleeps(Inspection):
    name = "sleeps"

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        await asyncio.sleep(10)
        return ALLOW


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.decisions: list[Decision] = []
        self.fail = fail

    async def observe(self, decision: Decision) -> None:
        if self.fail:
            raise OSError("store down")
        self.decisions.append(decision)


async def test_the_first_enforcing_denial_wins_and_later_stages_do_not_run() -> None:
    later = Says(ALLOW)
    pipeline = Pipeline([Stage(Says(deny("a.denied", "no"))), Stage(later)])
    message, exchange = tool_call("fs", "write")
    decision = await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
    assert not decision.forwarded and decision.verdict.code == "a.denied"
    assert decision.verdict.inspection == "says"
    assert later.seen == []


async def test_a_monitoring_stage_records_what_it_would_do_and_changes_nothing() -> None:
    replacement = messages.request(1, "tools/call", {"name": "other"})
    pipeline = Pipeline(
        [
            Stage(Says(deny("a.denied", "no")), Mode.MONITOR),
            Stage(Says(modify(replacement, "m", "")), Mode.MONITOR),
        ]
    )
    message, exchange = tool_call("fs", "write")
    decision = await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
    assert decision.forwarded and decision.message is message
    assert [v.code for v in decision.monitored] == ["a.denied", "m"]


async def test_a_modification_is_what_later_stages_and_the_server_see() -> None:
    replacement = messages.request(1, "tools/call", {"name": "redacted"})
    later = Says(ALLOW)
    pipeline = Pipeline([Stage(Says(modify(replacement, "r.redacted", "redacted"))), Stage(later)])
    message, exchange = tool_call("fs", "write")
    decision = await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
    assert decision.message is replacement and later.seen == [replacement]


async def test_a_stage_that_raises_denies_without_leaking_its_error() -> None:
    verdict = await judge(Raises(), tool_call("fs", "write"))
    assert verdict.code == "inspection.error"
    assert "secret" not in verdict.reason


async def test_a_stage_that_overruns_its_time_denies() -> None:
    pipeline = Pipeline([Stage(Sleeps(), timeout=0.05)])
    message, exchange = tool_call("fs", "write")
    decision = await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
    assert decision.verdict.code == "inspection.timeout" and not decision.forwarded


async def test_a_hold_without_an_approval_service_is_a_denial_with_its_own_code() -> None:
    pipeline = Pipeline([Stage(Says(hold("p.approval_required", "needs a human")))])
    message, exchange = tool_call("fs", "delete")
    decision = await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
    assert decision.verdict.code == "approval.unavailable" and not decision.forwarded


async def test_an_approved_hold_lets_the_message_continue() -> None:
    class Yes:
        async def decide(self, message: Message, exchange: Exchange, held: Verdict) -> Verdict:
            return allow("approval.granted", "ok", reviewer="bob")

    pipeline = Pipeline([Stage(Says(hold("p.approval_required", "needs a human")))], approver=Yes())
    message, exchange = tool_call("fs", "delete")
    decision = await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
    assert decision.forwarded
    assert [v.code for v in decision.verdicts] == ["p.approval_required", "approval.granted"]


async def test_every_decision_reaches_observers_and_a_failing_observer_stops_the_message() -> None:
    seen = Recorder()
    message, exchange = tool_call("fs", "read")
    decision = await Pipeline([Stage(Says(ALLOW))], observers=[seen]).run(
        Hook.CLIENT_REQUEST, message, exchange
    )
    assert decision.forwarded and seen.decisions == [decision]
    stopped = await Pipeline([], observers=[Recorder(fail=True)]).run(Hook.CLIENT_REQUEST, message, exchange)
    assert not stopped.forwarded and stopped.verdict.code == "observer.failed"


async def test_stages_limited_to_methods_are_skipped_for_others() -> None:
    class OnlyLists(Says):
        methods = frozenset({"tools/list"})

    stage = OnlyLists(deny("x", "x"))
    message, exchange = tool_call("fs", "read")
    decision = await Pipeline([Stage(stage)]).run(Hook.CLIENT_REQUEST, message, exchange)
    assert decision.forwarded and stage.seen == []


@pytest.mark.parametrize("hook", list(Hook))
async def test_hooks_an_inspection_does_not_override_cost_nothing(hook: Hook) -> None:
    assert not Inspection().implements(hook)


class WaitsThenSays(Inspection):
    """Waits several times (a zero sleep, a future resolved later, a short sleep) before answering:
    the pipeline must carry it through every wait and hand back what it finally says."""

    name = "waits"

    def __init__(self, verdict: Verdict, fail_after_waiting: bool = False) -> None:
        self.verdict = verdict
        self.fail_after_waiting = fail_after_waiting
        self.cancelled = False

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        await asyncio.sleep(0)
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, answer.set_result, "looked up")
        try:
            assert await answer == "looked up"
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.fail_after_waiting:
            raise RuntimeError("failed after waiting")
        return self.verdict


async def test_a_stage_that_waits_before_answering_is_heard_out() -> None:
    later = Says(ALLOW)
    pipeline = Pipeline(
        [Stage(WaitsThenSays(ALLOW)), Stage(WaitsThenSays(deny("w.denied", "no"))), Stage(later)]
    )
    message, exchange = tool_call("fs", "write")
    decision = await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
    assert decision.verdict.code == "w.denied" and decision.verdict.inspection == "waits"
    assert later.seen == []


async def test_a_stage_that_fails_after_waiting_denies() -> None:
    verdict = await judge(WaitsThenSays(ALLOW, fail_after_waiting=True), tool_call("fs", "write"))
    assert verdict.code == "inspection.error"


async def test_a_waiting_stage_is_cancelled_with_the_call_it_judges() -> None:
    stage = WaitsThenSays(ALLOW)
    message, exchange = tool_call("fs", "write")
    running = asyncio.ensure_future(Pipeline([Stage(stage)]).run(Hook.CLIENT_REQUEST, message, exchange))
    await asyncio.sleep(0.005)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert stage.cancelled
