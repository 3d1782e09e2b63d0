"""The command line a person meets: the version, one help style (run included), API keys without
`python -m`, completion, and `serve` saying where it listens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ostiary import __version__
from ostiary.auth.apikeys import ApiKeyVerifier
from ostiary.auth.settings import ApiKey

OSTIARY = str(Path(sys.executable).parent / "ostiary")


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OSTIARY, *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_version_and_run_help_in_the_common_style() -> None:
    assert _run("--version").stdout.strip() == f"ostiary {__version__}"
    run_help, scan_help = _run("run", "--help").stdout, _run("scan", "--help").stdout
    assert "Usage: ostiary run [OPTIONS]" in run_help and "Usage: ostiary scan [OPTIONS]" in scan_help
    assert "OSTIARY_CONFIG" in run_help
    assert "--show-completion" in _run("--help").stdout


def test_keys_create_list_and_revoke_keep_the_rest_of_the_file(tmp_path: Path) -> None:
    created = _run("keys", "create", "reports", "--subject", "svc-reports", "--group", "service")
    assert created.returncode == 0
    key = created.stdout.split(": ", 1)[1].split()[0]
    entry = yaml.safe_load(created.stdout.split("api_keys:\n", 1)[1])[0]
    assert ApiKeyVerifier([ApiKey(**entry)]).verify(key) is not None
    assert key not in yaml.safe_dump(entry)  # only the hash goes into the configuration
    config = tmp_path / "ostiary.yaml"
    flow = yaml.safe_dump(entry, default_flow_style=True, width=10_000).strip()
    config.write_text(
        "# the team gateway\nauth:\n  resource: https://mcp.example.com/mcp\n  api_keys:\n"
        f"    # nightly reports\n    - {flow}\n"
        "    - id: ci\n      hash: 'sha256:" + "b" * 64 + "'\n      subject: svc-ci\n"
        "servers: {}\n"
    )
    listed = _run("keys", "list", "--config", str(config)).stdout
    assert "reports\tsubject=svc-reports" in listed and "ci\tsubject=svc-ci" in listed
    assert entry["hash"] not in listed
    revoked = _run("keys", "revoke", "reports", "--config", str(config), "--yes")
    assert revoked.returncode == 0, revoked.stderr
    text = config.read_text()
    assert (
        "# the team gateway" in text
        and "id: ci" in text
        and "reports" not in text.replace("# nightly reports", "")
    )
    assert [k["id"] for k in yaml.safe_load(text)["auth"]["api_keys"]] == ["ci"]
    assert _run("keys", "revoke", "nobody", "--config", str(config), "--yes").returncode == 2


@pytest.mark.e2e
def test_serve_says_where_it_listens(tmp_path: Path) -> None:
    config = tmp_path / "ostiary.yaml"
    config.write_text(
        f"store: sqlite+aiosqlite:///{tmp_path / 'o.db'}\naudit: {{key_file: {tmp_path / 'k'}}}\n"
    )
    proc = subprocess.Popen(
        [OSTIARY, "serve", "--config", str(config), "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = next(line for line in proc.stderr if "listening on" in line)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "listening on http://127.0.0.1:" in line and line.rstrip().endswith("/mcp")
