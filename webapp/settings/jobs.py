"""The background jobs' section of the settings (``Settings.jobs``), from ``LIMEN_*``."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# JWKS responses say `Cache-Control: max-age=300` (webapp.oauth.JWKS_MAX_AGE) and every process
# caches the ring for 60 s: a new key must be published that long before it signs.
JWKS_CACHE_SECONDS = 300
RING_CACHE_SECONDS = 60

DEFAULT_INTERVALS = {
    "keys.maintain": 60,
    "credentials.maintain": 900,
    "backchannel.sweep": 60,
    "purge": 3600,
    "api_keys.flush_usage": 30,  # API keys' last use, noted in Redis, to the database
    "mail.sweep": 60,
}


class JobSettings(BaseSettings):
    """The background jobs' section (``Settings.jobs``): schedule, retries, retention."""

    model_config = SettingsConfigDict(env_prefix="LIMEN_", extra="ignore", frozen=True)

    jobs_queue: str = Field("limen", pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    # Signing keys: rotate every N days; publish a successor this long before it signs; keep a
    # retiring key this long past the access-token TTL. The floor (10 s) is the signer's own
    # re-check interval (5 s, see KeyRing) plus the verifier's clock leeway (5 s).
    key_rotation_days: int = Field(30, ge=1, le=3650)
    key_publish_seconds: int = Field(JWKS_CACHE_SECONDS + RING_CACHE_SECONDS, ge=1)
    key_retire_margin_seconds: int = Field(RING_CACHE_SECONDS + 5, ge=10)
    # Retention and purges.
    audit_retention_days: int = Field(365, ge=1)
    job_runs_retention_days: int = Field(14, ge=1)
    purge_batch_size: int = Field(1000, ge=1, le=100_000)
    # Retries: one attempt per interval (seconds) after the first; then the job is kept failed.
    job_retry_intervals: list[int] = Field(default_factory=lambda: [10, 60, 300, 900, 3600])
    job_timeout_seconds: int = Field(600, ge=10)
    failed_job_ttl_days: int = Field(30, ge=1)
    # The schedule: seconds between runs per job name, merged over DEFAULT_INTERVALS.
    job_intervals: dict[str, int] = Field(default_factory=dict)
    cron_tick_seconds: float = Field(1.0, gt=0, le=60)
    backchannel_timeout_seconds: float = Field(5.0, gt=0, le=60)
    client_secret_overlap_seconds: int = Field(7 * 86_400, ge=0, le=30 * 86_400)

    @field_validator("job_retry_intervals")
    @classmethod
    def _intervals(cls, value: list[int]) -> list[int]:
        if len(value) > 20 or any(v < 0 for v in value):
            raise ValueError("LIMEN_JOB_RETRY_INTERVALS: at most 20 non-negative seconds")
        return value

    @field_validator("job_intervals")
    @classmethod
    def _schedule(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(DEFAULT_INTERVALS))
        if unknown:
            raise ValueError(
                f"LIMEN_JOB_INTERVALS names unknown job(s) {unknown}; known: "
                f"{sorted(DEFAULT_INTERVALS)}"
            )
        if any(v < 1 for v in value.values()):
            raise ValueError("LIMEN_JOB_INTERVALS: every interval is at least 1 second")
        return value

    @property
    def schedule(self) -> dict[str, int]:
        return {**DEFAULT_INTERVALS, **self.job_intervals}

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.job_retry_intervals)

    def problems(self) -> list[str]:
        """Settings that work but weaken a guarantee, each with what to do about it."""
        found = []
        if self.key_publish_seconds < JWKS_CACHE_SECONDS + RING_CACHE_SECONDS:
            found.append(
                f"LIMEN_KEY_PUBLISH_SECONDS={self.key_publish_seconds} is shorter than JWKS "
                f"caches live ({JWKS_CACHE_SECONDS + RING_CACHE_SECONDS} s): resource servers "
                "that do not refetch JWKS on an unknown kid may reject tokens after a rotation."
            )
        return found
