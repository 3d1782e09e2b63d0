"""Fixtures of the transport matrix: the real servers under test and the processes behind each leg."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from .held import HeldClient
from .topology import Leg, Server, Topology, node_binary

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent


@pytest.fixture(scope="session")
def loopback_preload() -> Path:
    """The Node preload that keeps the reference servers' HTTP listeners on 127.0.0.1."""
    return REPO / "tests" / "fixtures" / "node_loopback.cjs"


@pytest.fixture(scope="session")
def everything(peers_dir: Path) -> Server:
    entry = str(peers_dir / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js")
    return Server(
        "everything",
        node_binary(),
        (entry, "stdio"),
        http_args=(entry, "streamableHttp"),
        sse_args=(entry, "sse"),
    )


@pytest.fixture(scope="session")
def filesystem_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("filesystem-root")
    (root / "seed.txt").write_text("seeded by the matrix: grüße 🌍\n", encoding="utf-8")
    return root.resolve()


@pytest.fixture(scope="session")
def filesystem(peers_dir: Path, filesystem_root: Path) -> Server:
    entry = str(peers_dir / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js")
    return Server("filesystem", node_binary(), (entry, str(filesystem_root)), host_roots=False)


@pytest.fixture(scope="session")
def memory(peers_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Server:
    entry = str(peers_dir / "@modelcontextprotocol" / "server-memory" / "dist" / "index.js")
    graph = tmp_path_factory.mktemp("memory") / "graph.jsonl"
    return Server("memory", node_binary(), (entry,), env={"MEMORY_FILE_PATH": str(graph)})


@pytest.fixture(scope="session")
def time_server(ostiary_command: list[str]) -> Server:
    binary = Path(ostiary_command[0]).parent / "mcp-server-time"
    return Server("time", str(binary), ("--local-timezone", "UTC"))


@pytest.fixture(scope="session")
def git_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with one commit, one modified tracked file and one untracked file."""
    repo = tmp_path_factory.mktemp("git-repo")

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=Matrix", "-c", "user.email=matrix@example.invalid", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    (repo / "tracked.txt").write_text("first\n", encoding="utf-8")
    git("add", "tracked.txt")
    git("commit", "-q", "-m", "first commit")
    (repo / "tracked.txt").write_text("first\nsecond\n", encoding="utf-8")
    (repo / "untracked-ünïcode.txt").write_text("new\n", encoding="utf-8")
    return repo.resolve()


@pytest.fixture(scope="session")
def git_server(ostiary_command: list[str], git_repo: Path) -> Server:
    binary = Path(ostiary_command[0]).parent / "mcp-server-git"
    return Server("git", str(binary), ("--repository", str(git_repo)))


def _selected_legs(request: pytest.FixtureRequest) -> set[Leg] | None:
    """The legs of the requesting module's selected tests (None: the module is not parametrised by leg)."""
    legs: set[Leg] = set()
    for item in request.session.items:
        if getattr(item, "module", None) is not request.module:
            continue
        leg = getattr(getattr(item, "callspec", None), "params", {}).get("leg")
        if leg is None:
            return None
        legs.add(leg)
    return legs


@pytest.fixture(scope="module")
def make_topology(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    ostiary_command: list[str],
    loopback_preload: Path,
) -> Iterator[Callable[..., Topology]]:
    """Builds the module's Topology and starts the long-lived processes its selected legs need.

    Gateway legs start only when one of their tests was selected, so `-k direct-` needs no gateway;
    direct legs always start (they are cheap, and baselines compare against them).
    """
    made: list[Topology] = []
    selected = _selected_legs(request)

    def make(plan: Iterable[tuple[Server, Iterable[Leg]]], hold: bool = True) -> Topology:
        topology = Topology(tmp_path_factory.mktemp("matrix"), ostiary_command, loopback_preload)
        made.append(topology)
        for server, legs in plan:
            wanted = [leg for leg in legs if selected is None or leg in selected or not leg.gateway]
            topology.start(server, wanted, hold)
        return topology

    yield make
    for topology in made:
        topology.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module naming its `LEGS` runs each of its tests once per leg."""
    legs = getattr(metafunc.module, "LEGS", None)
    if legs is not None and "leg" in metafunc.fixturenames:
        metafunc.parametrize("leg", legs, ids=lambda leg: leg.id)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Server:
    """The server a matrix module tests, named by its `SERVER` (a fixture name)."""
    found: Server = request.getfixturevalue(request.module.SERVER)
    return found


@pytest.fixture(scope="module")
def topology(
    make_topology: Callable[..., Topology], request: pytest.FixtureRequest, server: Server
) -> Topology:
    return make_topology([(server, request.module.LEGS)])


@pytest.fixture
def conn(topology: Topology, leg: Leg, server: Server) -> HeldClient:
    """The module-long connection of this test's leg."""
    return topology.held(server, leg)


STDERR_TAIL_BYTES = 6000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed matrix test shows the end of what Ostiary and the servers wrote to stderr."""
    report = yield
    topology = getattr(item, "funcargs", {}).get("topology")
    if report.failed and isinstance(topology, Topology) and topology.stderr_path.is_file():
        with topology.stderr_path.open("rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - STDERR_TAIL_BYTES))
            report.sections.append(("ostiary and server stderr (tail)", log.read().decode(errors="replace")))
    return report
