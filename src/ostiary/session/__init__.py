"""One host conversation and what it needs: routing, catalog, calls in flight, era bridging.

The package's name is what the rest of Ostiary imports: `ClientSession` and the two things a
client side hands it (`ClientChannel`, `GatewayContext`).
"""

from ostiary.session.core import ClientChannel, ClientSession, GatewayContext, envelope_problem

__all__ = ["ClientChannel", "ClientSession", "GatewayContext", "envelope_problem"]
