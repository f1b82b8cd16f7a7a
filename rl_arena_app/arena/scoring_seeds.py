"""Secret scoring seeds of solo environments: an HMAC of the env, the season and the episode under
a key derived from the server's secret, so no agent knows its scoring episodes in advance."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

# Seeds use a key of their own, so a seed never says anything about the server's secret itself.
KEY_PURPOSE = b"rl-arena/solo-scoring-seeds/v1"


@dataclass(frozen=True, slots=True)
class EpisodeSeeds:
    """One scoring episode: the seed that resets the env, and the unrelated `info["seed"]`."""

    env_seed: int
    agent_seed: int


def scoring_key(secret_key: str) -> bytes:
    """The key of scoring seeds, derived from the server's secret (RL_ARENA_SECRET_KEY)."""
    return hmac.new(secret_key.encode(), KEY_PURPOSE, hashlib.sha256).digest()


def _u32(key: bytes, message: str) -> int:
    """HMAC-SHA256 of ``message`` truncated to an unsigned 32-bit seed (derive_seed's range)."""
    return int.from_bytes(hmac.new(key, message.encode(), hashlib.sha256).digest()[:4], "big")


def scoring_run_seed(key: bytes, env_id: str, season: int) -> int:
    """The seed that labels a season's scoring run (its replay's header)."""
    return _u32(key, f"{env_id}:{season}:run")


def scoring_seeds(key: bytes, env_id: str, season: int, episodes: int) -> list[EpisodeSeeds]:
    """The scoring episodes of ``env_id`` in ``season``: stable within it, unknowable without
    the key; the agent's seed is a separate HMAC, so it does not reveal the env's."""
    return [EpisodeSeeds(_u32(key, f"{env_id}:{season}:{episode}"),
                         _u32(key, f"{env_id}:{season}:{episode}:agent"))
            for episode in range(episodes)]
