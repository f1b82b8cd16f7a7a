"""Platform settings, read once from the environment (prefix RL_ARENA_) and .env."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the platform, with embedded-friendly defaults."""

    model_config = SettingsConfigDict(env_prefix="RL_ARENA_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path(".arena")

    # Sandboxes
    sandbox: Literal["docker", "process", "inprocess"] = "docker"
    agent_base_image: str = "rl-arena/agent-base:1"
    # Where per-agent socket folders live; the Docker engine must see the same path.
    sandbox_dir: Path = Path(tempfile.gettempdir()) / "rl-arena-sandboxes"
    agent_memory_mb: int = 512
    agent_cpus: float = 1.0
    agent_pids: int = 64
    agent_tmp_mb: int = 64
    agent_python_version: str = "3.11"

    @property
    def production(self) -> bool:
        """Whether insecure development conveniences must be refused."""
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
