"""The errors front ends catch: what a person asked for is wrong or does not exist."""

from rl_arena_app.arena.outcomes import BadInput, InfrastructureError, NotFound

__all__ = ["BadInput", "InfrastructureError", "NotFound"]
