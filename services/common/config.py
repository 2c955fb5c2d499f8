"""Settings of every process, read from the environment and validated once at start.

Services read them in ``setup()`` of their dependency providers (``services.common.service.
Config`` for entrypoints),
so nothing parses the environment on a request path.

Every configuration read goes through :func:`load_settings`, so that moving to another
framework or secret store is a change to this one file.  A bad or missing setting stops the
process with one line naming it (see :func:`load_settings`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_NAMES = ("billing", "orders", "invoicing", "documents")
DEVELOPMENT_SECRET = "development-only-secret-key-change-me"


# Workers a service runs at once (nameko's ``max_workers``); database pools are sized to it, so
# a busy service never opens and closes overflow connections on every burst.
MAX_WORKERS = 10

class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    environment: Literal["development", "test", "production"] = "development"
    amqp_uri: str = "pyamqp://guest:guest@127.0.0.1:5672/"
    rpc_timeout: float = Field(10.0, gt=0, description="seconds the gateway waits for a service")
    inner_rpc_timeout: float | None = Field(
        None, gt=0, description="seconds a service waits for another; default half of rpc_timeout"
    )
    event_retry_limit: int = Field(5, ge=0, le=50, description="retries of a transient failure")
    event_retry_backoff: float = Field(1.0, gt=0, description="seconds before the first retry")
    reconcile_interval: float = Field(5.0, gt=0, description="seconds between reconciler passes")
    orders_timer_interval: float = Field(5.0, gt=0, description="seconds between the orders "
                                         "service's passes over merge deletions, retention "
                                         "and unpaid expiry")
    orders_merged_delete_after_seconds: float = Field(
        300.0, ge=0, description="a merged order is deleted this long after the merge, plus up "
        "to as much again (the seed's 5-10 minutes)")
    orders_confirmed_retention_seconds: float = Field(
        864000.0, gt=0, description="a manager-confirmed goods order not sent for shipment "
        "within this is deleted and its stock returned")
    orders_unpaid_expiry_seconds: float = Field(
        1209600.0, gt=0, description="a service or licence order still awaiting payment this "
        "long after it was placed expires (cancelled, nothing charged, its card payment and "
        "payment invoice withdrawn)")
    orders_manager_confirmation: str = Field(
        "never", pattern=r"^(never|always|above:\d+(\.\d{1,2})?)$",
        description="when a manager confirms a goods order: never, always, or above:<total>")
    invoicing_review: str = Field(
        "never", pattern=r"^(never|always|above:\d+(\.\d{1,2})?)$",
        description="when an operator reviews a confirmed invoice application before it is "
        "issued: never, always, or above:<total>")
    housekeeping_interval: float = Field(60.0, gt=0, description="seconds between purges of "
                                         "expired sign-in failures, revocations and mail tokens")

    billing_database_url: str | None = None
    orders_database_url: str | None = None
    invoicing_database_url: str | None = None
    documents_database_url: str | None = None
    gateway_database_url: str | None = None

    data_dir: Path = Path("var")
    file_store_dir: Path | None = None

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(1025, ge=1, le=65535)
    smtp_timeout: float = Field(10.0, gt=0, description="seconds for one SMTP conversation")
    mail_from: str = "Nimbus Cloud <no-reply@nimbus.example>"
    mail_domain: str = "nimbus.example"
    mail_retry_limit: int = Field(5, ge=0, le=50, description="retries of a mail the relay did not take")
    mail_retry_backoff: float = Field(2.0, gt=0, description="seconds before the first retry")
    mail_interval: float = Field(2.0, gt=0, description="seconds between sweeps of the mail outbox")

    einvoice_rules_dir: str | None = Field(None, description="folder of the official UBL XSDs and "
                                           "EN 16931 / Peppol BIS rule files (see deploy/README.md); "
                                           "unset: XSD only")
    access_point: Literal["simulator"] = "simulator"
    delivery_retry_limit: int = Field(5, ge=0, le=50, description="retries of a failed delivery")
    delivery_retry_backoff: float = Field(2.0, gt=0, description="seconds before the first retry")
    delivery_interval: float = Field(2.0, gt=0, description="seconds between sweeps of due deliveries")

    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(8000, ge=1, le=65535)
    max_request_bytes: int = Field(1_048_576, gt=0)
    token_ttl_seconds: int = Field(12 * 3600, gt=0)
    console_url: str = Field("http://127.0.0.1:8000", description="base of the links in mails")
    card_webhook_secret: str = Field("card-simulator-development-secret", min_length=16,
                                     description="signs the card processor's callbacks")
    card_sim_delay_seconds: float = Field(5.0, ge=0, description="the simulator's late card")
    card_callback_url: str | None = Field(None, description="where the simulator sends its "
                                          "callbacks (default: this gateway)")
    email_verification_ttl_seconds: int = Field(24 * 3600, gt=0)
    password_reset_ttl_seconds: int = Field(3600, gt=0)
    login_failure_limit: int = Field(100, ge=1, description="failed sign-ins per window")
    login_failure_window_seconds: int = Field(3600, gt=0)
    revocation_poll_seconds: float = Field(1.0, gt=0, description="gateway: how often it asks "
                                           "billing for newly revoked tokens")
    idempotency_ttl_seconds: int = Field(48 * 3600, ge=24 * 3600)

    secret_key: str | None = None

    bootstrap_operator_email: str | None = None
    bootstrap_operator_password: str | None = None
    demo_data: bool = False

    renderer_processes: int = Field(2, ge=1, le=16)
    render_timeout: float = Field(120.0, gt=0, description="seconds one document may take to render")
    render_memory_mb: int = Field(1024, ge=0,
                                  description="address space of a renderer process (0: unlimited)")
    render_cpu_share: float = Field(0.25, gt=0, le=1, description="share of one core a renderer "
                                    "may use while other processes are busy, once a document has "
                                    "had render_burst_seconds at full speed")
    render_burst_seconds: float = Field(0.3, ge=0, description="CPU seconds a document renders at "
                                        "full speed before render_cpu_share may hold it")
    render_nice: int = Field(19, ge=0, le=19, description="renderers' scheduling priority (nice)")
    report_interval: float = Field(0.5, gt=0, description="seconds between looks for queued reports")
    report_lease_seconds: float = Field(60.0, gt=0, description="a running report unheard of this long "
                                        "(its process died) is taken up again")
    report_attempts: int = Field(3, ge=1, le=20, description="tries of a report before it fails")
    report_attach_max_bytes: int = Field(5 * 1024 * 1024, ge=0, description="a ready report larger "
                                         "than this is mailed as a link, not attached")
    files_retention_days: float = Field(30, gt=0, description="days a report's file is kept")
    download_link_days: float = Field(7, gt=0, description="days a mailed download link works")
    files_sweep_interval: float = Field(3600.0, gt=0, description="seconds between removals of expired files")
    hub_blocking_detection: float = Field(0.0, ge=0, description="seconds; 0 is off")

    seller_name: str = "Nimbus Cloud AB"
    seller_address: str = "Storgatan 1, 111 22 Stockholm, Sweden"
    seller_vat_id: str = "SE556677889901"
    seller_street: str = "Storgatan 1"
    seller_postal_code: str = "111 22"
    seller_city: str = "Stockholm"
    seller_country: str = Field("SE", pattern=r"^[A-Z]{2}$")
    seller_organisation_number: str = "5566778899"
    seller_email: str = "billing@nimbus.example"
    seller_iban: str = Field("SE4550000000058398257466", pattern=r"^[A-Z]{2}\d{2}[A-Z0-9 ]{10,34}$")
    seller_bic: str = "ESSESESS"
    seller_bank_name: str = "SEB"
    invoice_series: str = "INV"
    credit_note_series: str = "CN"
    payment_invoice_series: str = "PI"
    payment_terms_days: int = Field(14, ge=0, le=365, description="days from a payment "
                                    "invoice's issue to its due date")

    @model_validator(mode="after")
    def _secret_outside_development(self) -> Settings:
        if self.secret_key is None:
            if self.environment == "production":
                raise ValueError("SECRET_KEY is required outside development")
            self.secret_key = DEVELOPMENT_SECRET
        elif self.environment == "production" and (
            self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError("SECRET_KEY must be at least 32 characters and not the default")
        return self

    @model_validator(mode="after")
    def _inner_calls_end_before_the_gateway_gives_up(self) -> Settings:
        if self.inner_rpc_timeout is None:
            self.inner_rpc_timeout = self.rpc_timeout / 2
        elif self.inner_rpc_timeout >= self.rpc_timeout:
            raise ValueError("INNER_RPC_TIMEOUT must be shorter than RPC_TIMEOUT")
        return self

    @property
    def service_rpc_timeout(self) -> float:
        """How long a service waits for another (shorter than the gateway's wait)."""
        assert self.inner_rpc_timeout is not None
        return self.inner_rpc_timeout

    def database_url(self, owner: str) -> str:
        """The database of a service (or the gateway); an embedded SQLite file when unset."""
        url = getattr(self, f"{owner}_database_url")
        if url:
            return url
        path = (self.data_dir / "db" / f"{owner}.sqlite3").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"

    @property
    def files_dir(self) -> Path:
        return (self.file_store_dir or self.data_dir / "files").resolve()

    def nameko_config(self) -> dict[str, object]:
        return {
            "AMQP_URI": self.amqp_uri,
            "serializer": "json",
            "max_workers": MAX_WORKERS,
            "parent_calls_tracked": 10,
            "HEARTBEAT": 30,
        }


def describe_error(error: ValidationError) -> str:
    """One line naming each bad setting, as an operator reads it."""
    parts = []
    for item in error.errors():
        name = "_".join(str(p) for p in item["loc"]).upper() or "SETTINGS"
        parts.append(f"{name}: {item['msg']}")
    return "invalid configuration: " + "; ".join(parts)


def load_settings(exit_on_error: bool = True) -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        if not exit_on_error:
            raise
        print(describe_error(error), file=sys.stderr)
        raise SystemExit(2) from None
