"""Every knob of the app, read from AUDIENCES_* environment variables (or a .env file)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIENCES_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'data' / 'audiences.db'}",
        description="SQLAlchemy URL; sqlite:///path or postgresql+psycopg://user@host/db",
    )
    workspace: str = Field(default="demo", description="Slug of the workspace the UI opens")
    page_size: int = Field(default=50, ge=10, le=100, description="Rows per page in browsers")
    count_cap: int = Field(default=10_000, ge=100, description="Counts above this show as 'N+'")
    count_time_limit_ms: int = Field(
        default=300, ge=10, description="Time allowed for an exact count before capping"
    )
    query_time_limit_ms: int = Field(
        default=5_000, ge=100, description="Time limit for any query a user's click starts"
    )
    column_cache_mb: int = Field(
        default=256, ge=0,
        description="Memory for the columns that segment counts are computed over (0 turns the cache off)",
    )
    downloads_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "downloads",
        description="Where exports are written before the browser fetches them over HTTP",
    )
    run_worker: bool = Field(
        default=True, description="Run the durable-run worker inside the app process"
    )
    allowed_hosts: str = Field(
        default="",
        description="Comma-separated hosts or IPs that enrichment calls may reach although not public (admin allow-list)",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Fernet key that encrypts provider secrets at rest (else the key file is used)"
    )
    secret_key_file: Path = Field(
        default=PROJECT_ROOT / "data" / "secret.key",
        description="Key file created with mode 0600 on first use when no secret key is set",
    )
    reference_dirs: str = Field(
        default=str(PROJECT_ROOT / "data"),
        description="Folders (separated like PATH) that reference-file enrichments may read from",
    )
    auto_enrich_seconds: int = Field(
        default=300, ge=5, description="Seconds between sweeps that auto-enrich new and changed records"
    )
    allowed_origins: str = Field(
        default="http://localhost:3000,http://127.0.0.1:3000",
        description="Comma-separated browser origins allowed to open the app's websocket",
    )

    @property
    def allowed_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.allowed_origins.split(",") if origin.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
