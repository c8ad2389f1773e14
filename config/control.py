"""Settings of the control plane (`spreadwright serve`): where it listens, its database, its token, CORS.

Safe by default: loopback only, CORS closed (no origin allowed), a bearer token on every /api route (generated on
first start into `token_file` with 0600 permissions unless `token` is given, e.g. by
SPREADWRIGHT_CONTROL__TOKEN), paper sessions only (a live one needs `allow_live` and the broker's key in the
server's environment, SPREADWRIGHT__BROKER__API_KEY; profiles never carry secrets). A host other than loopback needs
`allow_remote: true`, since the API then answers anyone who can reach the port and holds the token."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from config.base import FrozenModel, rule_error

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ControlConfig(FrozenModel):
    host: str = "127.0.0.1"
    port: int = Field(8780, ge=0, le=65535)
    """0: any free port (printed when bound)."""
    state_dir: str = "var/control"
    """The database (by default), the token file and each session's profile and ledger live here."""
    database_url: str | None = None
    """`sqlite+aiosqlite:///path` or `postgresql+asyncpg://user@host:port/db`; None: SQLite in `state_dir`."""
    token: SecretStr | None = None
    token_file: str | None = None
    """Where the generated token is kept (default `<state_dir>/token`)."""
    allow_remote: bool = False
    cors_origins: tuple[str, ...] = ()
    allow_live: bool = False
    heartbeat_s: float = Field(1.0, gt=0, le=60)
    """How often a running session is asked for its status (the heartbeat, orders, positions, P&L)."""
    snapshot_every_s: float = Field(10.0, gt=0, le=3600)
    """How often a P&L snapshot is kept for the dashboard's series (2,000 points: five and a half hours at 10 s)."""
    heartbeat_stale_s: float = Field(10.0, gt=0, le=600)
    """A heartbeat older than this shows the session as not answering."""
    stop_timeout_s: float = Field(120.0, gt=0, le=3600)
    """How long a stop waits for the session to cancel its orders and end before it is killed."""
    max_stream_clients: int = Field(32, ge=1, le=10_000)
    login_ttl_s: float = Field(12 * 3600.0, gt=0, le=30 * 86400)

    @field_validator("token")
    @classmethod
    def _token_long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < 16:
            raise ValueError("a token needs at least 16 characters")
        return token

    @model_validator(mode="after")
    def _safe_binding(self) -> ControlConfig:
        if self.host not in _LOOPBACK and not self.allow_remote:
            raise rule_error("host", f"{self.host!r} is not loopback: set allow_remote: true to serve other machines "
                             "(every route still needs the token)")
        if self.database_url is not None and not self.database_url.startswith(
                ("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise rule_error("database_url", "must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        for origin in self.cors_origins:
            if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise rule_error("cors_origins", f"{origin!r} is not an origin like https://ops.example.com")
        return self

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{Path(self.state_dir) / 'control.db'}"

    @property
    def token_path(self) -> Path:
        return Path(self.token_file) if self.token_file else Path(self.state_dir) / "token"
