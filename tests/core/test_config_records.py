"""The configuration is read without pydantic when it is plainly valid, and exactly as pydantic reads it.

A record's fast path converts nothing and hands anything doubtful to pydantic (`configrecord.py`); these
tests hold it to pydantic's answer, value for value and error for error, over generated inputs.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ostiary import config
from ostiary.config import Config
from ostiary.configrecord import validate_with_pydantic

ODD = st.sampled_from(
    [None, True, False, 0, 1, -1, 2, 1023, 1024, 65535, 65536, 0.0, 0.5, 5.0, -2.5, math.inf,
     math.nan, "", "x", "5", "0x10", " 7 ", "1_000", "2.0", "yes", "off", "stdio", "sse", "legacy",
     "http://h/mcp", "ftp://h", [], ["a"], [1], {}, {"k": "v"}, {"k": 1}, {1: "v"}]
)  # fmt: skip
TEXT = st.sampled_from(["a", "srv-1", "bad name", "", "x" * 40, "-a", "files"])


def _maybe_odd(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, good, ODD)


def _section(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    keyed = st.fixed_dictionaries({}, optional={k: _maybe_odd(v) for k, v in fields.items()})
    unknown = st.dictionaries(st.sampled_from(["comand", "extra", "mode2"]), ODD, max_size=1)
    return st.one_of(keyed, keyed, keyed, st.builds(lambda a, b: {**a, **b}, keyed, unknown), ODD)


STRINGS = st.lists(st.sampled_from(["*", "rm", "read_*"]), max_size=3)
SERVER = _section(
    {
        "command": st.sampled_from(["npx", "python"]),
        "args": STRINGS,
        "env": st.dictionaries(st.sampled_from(["A", "B"]), st.sampled_from(["1", "${env:X}"])),
        "cwd": st.sampled_from([".", "/tmp"]),
        "url": st.sampled_from(["http://h/mcp", "https://h/mcp", "ftp://h"]),
        "transport": st.sampled_from(["stdio", "streamable-http", "sse", "grpc"]),
        "headers": st.dictionaries(st.sampled_from(["Authorization"]), st.just("Bearer x")),
        "prefix": st.sampled_from(["", "a", "fs", "bad prefix", "files"]),
        "era": st.sampled_from(["auto", "legacy", "modern", "future"]),
        "timeout": st.sampled_from([1, 2.5, 0, -1]),
        "max_timeout": st.sampled_from([600, 0.1]),
        "tools": _section({"allow": STRINGS, "deny": STRINGS}),
        "trust_annotations": st.booleans(),
        "enabled": st.booleans(),
    }
)
INSPECTION = _section(
    {
        "name": st.sampled_from(["toolfilter", "pinning"]),
        "mode": st.sampled_from(["enforce", "monitor", "block"]),
        "timeout": st.sampled_from([5, 0.5, 0]),
        "action": st.sampled_from(["warn", "block"]),
    }
)
CONFIG = _section(
    {
        "name": st.just("gw"),
        "servers": st.dictionaries(TEXT, SERVER, max_size=3),
        "listen": _section(
            {
                "host": st.just("0.0.0.0"),
                "port": st.sampled_from([0, 8765, 65535, 70000]),
                "allowed_origins": STRINGS,
                "unsafe_allow_unauthenticated": st.booleans(),
                "session_idle_timeout": st.sampled_from([1.0, 0]),
                "max_sessions": st.sampled_from([1, 0]),
            }
        ),
        "limits": _section({"max_message_bytes": st.sampled_from([1024, 100, 2**24])}),
        "identity": _section({"subject": st.just("alice"), "groups": STRINGS}),
        "inspections": st.lists(INSPECTION, max_size=3),
        "store": st.just("sqlite+aiosqlite:///x.db"),
        "audit": st.dictionaries(st.sampled_from(["enabled", "key_file"]), ODD, max_size=2),
        "base_dir": st.just("/etc/ostiary"),
    }
)


def _outcome(read: Any, data: Any) -> tuple[str, Any]:
    try:
        return "ok", read(data)
    except ValidationError as exc:
        return "error", exc.errors(include_url=False, include_context=False)


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to itself (pydantic accepts NaN where no bound applies)."""
    return repr(a) == repr(b) if "nan" in repr(a) else bool(a == b)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIG)
def test_a_configuration_reads_as_pydantic_reads_it(data: Any) -> None:
    fast = _outcome(Config.validate, data)
    reference = _outcome(lambda d: validate_with_pydantic(Config, d), data)
    assert fast[0] == reference[0], (fast, reference)
    assert _same(fast[1], reference[1]), (fast, reference)


def test_errors_name_the_key_the_line_and_pydantics_reason() -> None:
    text = "servers:\n  a: {comand: x}\n  b: {command: y, timeout: -1}\nlisten: {port: '80'}\n"
    with pytest.raises(config.ConfigError) as caught:
        config.parse(text, "gw.yaml")
    assert str(caught.value).splitlines() == [
        "gw.yaml: line 2: servers.a.comand: unknown key; did you mean 'command'?",
        "gw.yaml: line 3: servers.b.timeout: Input should be greater than 0",
    ]


def test_values_pydantic_converts_are_converted() -> None:
    cfg = config.parse("listen: {port: '80', unsafe_allow_unauthenticated: yes, session_idle_timeout: 5}\n")
    assert (cfg.listen.port, cfg.listen.unsafe_allow_unauthenticated) == (80, True)
    assert cfg.listen.session_idle_timeout == 5.0 and isinstance(cfg.listen.session_idle_timeout, float)


def test_a_plain_configuration_loads_without_pydantic() -> None:
    probe = (
        "import sys\n"
        "from ostiary import config\n"
        "cfg = config.parse('servers:\\n  a: {command: x, timeout: 5}\\n"
        "inspections:\\n  - {name: toolfilter, mode: enforce}\\n')\n"
        "assert cfg.servers['a'].timeout == 5.0\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
