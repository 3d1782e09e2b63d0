"""The start-up shortcut that skips Alembic must know the real newest migration."""

from alembic.config import Config
from alembic.script import ScriptDirectory

from ostiary.store.engine import HEAD_REVISION, MIGRATIONS


def test_the_known_head_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
