"""Real stores for these tests: SQLite in tmp_path and a fresh PostgreSQL database."""

from ostiary.store.testing import postgres_url, store, store_url

__all__ = ["postgres_url", "store", "store_url"]
