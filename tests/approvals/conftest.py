"""Fixtures for the approval tests: a gateway holding one tool, and real stores."""

from approvals.gateways import held_gateway
from ostiary.store.testing import postgres_url, store, store_url

__all__ = ["held_gateway", "postgres_url", "store", "store_url"]
