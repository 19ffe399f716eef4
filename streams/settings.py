"""PropTrade's settings: one typed, frozen object read once from the environment.

Every setting is declared here with its environment variable, its default and what it
means; :func:`load_settings` is the only place in the project that reads ``os.environ``.
Entry points call it once at start and hand the result down.

An empty variable counts as unset, so ``KAFKA_BOOTSTRAP=`` selects the embedded broker
just like leaving it out.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = [
    "INSECURE_DEV_SECRET_KEY",
    "LOG_LEVELS",
    "MIN_SECRET_BYTES",
    "SettingSpec",
    "Settings",
    "SettingsError",
    "child_environment",
    "describe_settings",
    "insecure_exposure",
    "is_loopback_host",
    "load_settings",
    "settings_table",
    "without_password",
]

#: The development secret used when ``SECRET_KEY`` is unset. It is public (it is in this
#: file), so anything signed with it is forgeable; ``proptrade up`` warns while it is in use.
INSECURE_DEV_SECRET_KEY: Final = "proptrade-insecure-development-secret-change-me"

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """An environment variable holds a value PropTrade cannot use.

    :param variable: the environment variable's name, e.g. ``HTTP_PORT``.
    :param value: the value found in the environment (a URL's password masked).
    :param reason: what is wrong with it, for the operator.
    """

    def __init__(self, variable: str, value: str, reason: str) -> None:
        super().__init__(f"{variable}={value!r}: {reason}")
        self.variable = variable
        self.value = value
        self.reason = reason


# -- parsers: each turns the raw string of one variable into the field's value ----------


def _text(variable: str, raw: str) -> str:
    return raw


def without_password(url: str) -> str:
    # Error messages end up in logs; a DSN's password must not.
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rpartition("@")[2]
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _url(*schemes: str, needs_host: bool = False) -> Callable[[str, str], str]:
    def parse(variable: str, raw: str) -> str:
        try:
            parts = urlsplit(raw)
            hostname = parts.hostname
        except ValueError as error:  # e.g. an unbalanced "[" in the host
            raise SettingsError(variable, without_password(raw), str(error)) from None
        if parts.scheme not in schemes:
            allowed = ", ".join(f"{scheme}://" for scheme in schemes)
            raise SettingsError(
                variable, without_password(raw), f"expected a URL starting with {allowed}"
            )
        if needs_host and not hostname:
            raise SettingsError(variable, without_password(raw), "the URL names no host")
        return raw

    return parse


def _optional_url(*schemes: str, needs_host: bool = False) -> Callable[[str, str], str]:
    url = _url(*schemes, needs_host=needs_host)
    return lambda variable, raw: url(variable, raw) if raw else raw


def _port_number(variable: str, raw: str, text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise SettingsError(variable, raw, "expected a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise SettingsError(variable, raw, "a port must be between 1 and 65535")
    return port


def _port(variable: str, raw: str) -> int:
    return _port_number(variable, raw, raw.strip())


def _bootstrap(variable: str, raw: str) -> str:
    """A comma-separated ``host:port`` list, or empty for the embedded broker."""
    servers = [server.strip() for server in raw.split(",")] if raw.strip() else []
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host:
            raise SettingsError(variable, raw, f"expected host:port[,host:port...], got {server!r}")
        _port_number(variable, raw, port)
    return ",".join(servers)


def _directory(variable: str, raw: str) -> Path:
    # Resolved once, here, so a later chdir cannot move the data under a running process.
    return Path(raw).expanduser().resolve()


def _count(variable: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(variable, raw, "expected a whole number ≥ 1") from None
    if value < 1:
        raise SettingsError(variable, raw, "expected a whole number ≥ 1")
    return value


def _optional_switch(variable: str, raw: str) -> bool | None:
    """A switch that may be left unset (None), for a default that depends on the command."""
    return _switch(variable, raw) if raw.strip() else None


def _switch(variable: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(variable, raw, "expected 1 or 0 (true/false, yes/no, on/off)")


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*"
                     r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _domain(variable: str, raw: str) -> str:
    domain = raw.strip().lower().rstrip(".")
    if domain and not _DOMAIN.match(domain):
        raise SettingsError(variable, raw, "expected a domain name such as proptrade.example")
    return domain


def _public_url(variable: str, raw: str) -> str:
    """An http(s) URL without query or fragment, kept without its trailing slash."""
    if not raw:
        return raw
    url = _url("http", "https", needs_host=True)(variable, raw.strip())
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise SettingsError(variable, raw, "a public URL takes no query or fragment")
    return url.rstrip("/")


def _networks(variable: str, raw: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR blocks, normalised (``10.0.0.0/8``)."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(variable, raw,
                                f"expected addresses or CIDR blocks, got {item!r}") from None
    return tuple(networks)


#: The fewest bytes a ``SECRET_KEY`` of the operator's may have: HS256's own key size
#: (RFC 7518 §3.2), so guessing the key is no shorter than forging a signature.
MIN_SECRET_BYTES: Final = 32


def _secret_key(variable: str, raw: str) -> str:
    size = len(raw.encode())
    if raw != INSECURE_DEV_SECRET_KEY and size < MIN_SECRET_BYTES:
        raise SettingsError(variable, f"({size} bytes, not shown)",
                            f"a secret key needs at least {MIN_SECRET_BYTES} bytes; use a "
                            "long random string (e.g. `openssl rand -base64 48`)")
    return raw


def _log_level(variable: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise SettingsError(variable, raw, f"expected one of {', '.join(LOG_LEVELS)}")
    return level


# -- declarations -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SettingSpec:
    """How one setting is read: its variable, its default as it would be written in the
    environment, what it means, and how its text is parsed."""

    variable: str
    default: str
    doc: str
    parse: Callable[[str, str], Any]
    secret: bool = False

    @property
    def shown_default(self) -> str:
        if self.secret and self.default:
            return "(insecure development key)"
        return f"`{self.default}`" if self.default else "(empty)"


def _setting(
    variable: str,
    default: str,
    doc: str,
    parse: Callable[[str, str], Any],
    *,
    secret: bool = False,
) -> Any:
    spec = SettingSpec(variable, default, doc, parse, secret)
    # A factory, not a value: PROPTRADE_DATA_DIR's default is resolved against the working
    # directory when the settings are built, not when this module is imported.
    return dataclasses.field(
        default_factory=lambda: parse(variable, default),
        metadata={"spec": spec},
        repr=not secret,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything PropTrade reads from its environment, parsed and checked.

    Build it with :func:`load_settings`; tests may construct it directly or use
    :func:`dataclasses.replace` on a loaded one.
    """

    database_url: str = _setting(
        "DATABASE_URL",
        "postgresql://localhost:5432/proptrade",
        "PostgreSQL, the system of record (asyncpg DSN).",
        _url("postgresql", "postgres"),
    )
    redis_url: str = _setting(
        "REDIS_URL",
        "redis://localhost:6379/0",
        "Redis: tokens, rate limits, the live cache.",
        _url("redis", "rediss", "unix"),
    )
    redis_prefix: str = _setting(
        "REDIS_PREFIX",
        "proptrade:",
        "Prefix of every Redis key, so several deployments or tests can share one Redis.",
        _text,
    )
    kafka_bootstrap: str = _setting(
        "KAFKA_BOOTSTRAP",
        "",
        "Kafka bootstrap servers, `host:port[,host:port...]`. Empty: `proptrade up` starts "
        "the embedded tansu broker on a free localhost port.",
        _bootstrap,
    )
    kafka_topic_prefix: str = _setting(
        "KAFKA_TOPIC_PREFIX",
        "",
        "Prepended to every topic name (`feed.quotes` → `<prefix>feed.quotes`), so several "
        "deployments or tests can share one broker.",
        _text,
    )
    feed_partitions: int = _setting(
        "FEED_PARTITIONS",
        "4",
        "Partitions of `feed.accounts` (and of `risk.events`, aligned with it): the most "
        "workers that can share the accounts. Fixed once topics exist.",
        _count,
    )
    clickhouse_url: str = _setting(
        "CLICKHOUSE_URL",
        "",
        "ClickHouse server over HTTP(S) for history and analytics. Empty: embedded chDB "
        "under `<data dir>/chdb` (one process may own it at a time).",
        _optional_url("http", "https", needs_host=True),
    )
    analytics_port: int = _setting(
        "ANALYTICS_PORT",
        "8124",
        "With embedded chDB: the port (on 127.0.0.1) where the analytics process, which "
        "owns the chDB directory, serves ClickHouse's HTTP interface to the other processes.",
        _port,
    )
    data_dir: Path = _setting(  # noqa: RUF009 - a field() with a default_factory
        "PROPTRADE_DATA_DIR",
        "./var",
        "Local state: chDB files, broker logs, checkpoints. Relative paths are resolved "
        "against the working directory at start.",
        _directory,
    )
    broker_retain_batches: int = _setting(
        "BROKER_RETAIN_BATCHES",
        "2000",
        "The embedded broker (`proptrade broker`, started by `proptrade up`) keeps its log "
        "under `<data dir>/broker`, the newest this many record batches of each partition "
        "(about 100 s of the demo's feed): tansu lists every batch of a partition at each "
        "fetch, so this bounds the cost of reading and the disk, as retention does in Kafka.",
        _count,
    )
    http_host: str = _setting(
        "HTTP_HOST",
        "127.0.0.1",
        "Address the gateway listens on.",
        _text,
    )
    http_port: int = _setting(
        "HTTP_PORT",
        "8000",
        "Port the gateway listens on (1-65535).",
        _port,
    )
    smtp_url: str = _setting(
        "SMTP_URL",
        "",
        "Outgoing mail server, `smtp://[user:password@]host:port` (or `smtps://`). Empty: "
        "messages are appended to `<data dir>/outbox.mbox`.",
        _optional_url("smtp", "smtps", needs_host=True),
    )
    mail_from: str = _setting(
        "MAIL_FROM",
        "PropTrade <no-reply@localhost>",
        "Sender of the platform's e-mail.",
        _text,
    )
    secret_key: str = _setting(
        "SECRET_KEY",
        INSECURE_DEV_SECRET_KEY,
        "Signs session tokens (JWT) and cookies; at least 32 bytes. The default is public "
        "and only for development: `proptrade up` warns while it is in use, and the "
        "gateway refuses to start with it unless `HTTP_HOST` is a loopback address and "
        "no other machine is let in (`TRUSTED_PROXIES`, `PUBLIC_BASE_DOMAIN` and "
        "`PUBLIC_URL` other than a loopback URL all unset).",
        _secret_key,
        secret=True,
    )
    log_level: str = _setting(
        "LOG_LEVEL",
        "INFO",
        f"Logging threshold: {', '.join(LOG_LEVELS)}.",
        _log_level,
    )
    public_url: str = _setting(
        "PUBLIC_URL",
        "",
        "Where users reach the default firm, for links in its mail (`https://trade.example`). "
        "Empty: `http://localhost:<HTTP_PORT>`. Links never follow a request's `Host`.",
        _public_url,
    )
    public_base_domain: str = _setting(
        "PUBLIC_BASE_DOMAIN",
        "",
        "The platform's domain: each firm is also served at `<slug>.<domain>`, its links "
        "`https://<slug>.<domain>` unless it claimed a domain. Empty: only claimed domains "
        "(and loopback for the default firm) are served.",
        _domain,
    )
    trusted_proxies: tuple[str, ...] = _setting(
        "TRUSTED_PROXIES",
        "",
        "Addresses or CIDR blocks of the reverse proxies in front of the gateway, "
        "comma-separated: only from them are `X-Forwarded-For`, `X-Real-IP` and "
        "`X-Forwarded-Proto` believed. Empty: from nobody.",
        _networks,
    )
    demo_payments: bool | None = _setting(
        "DEMO_PAYMENTS",
        "",
        "1: a trader may confirm their own `manual` payment (demonstrations). 0: only the "
        "firm's admins settle manual payments. Empty: off, except under `proptrade up`, "
        "which turns it on (write 0 to keep it off there too).",
        _optional_switch,
    )
    ws_max_connections_per_user: int = _setting(
        "WS_MAX_CONNECTIONS_PER_USER",
        "10",
        "Open websocket connections one user may hold across every gateway process; one "
        "more is closed (1008).",
        _count,
    )
    ws_max_unauthenticated_per_address: int = _setting(
        "WS_MAX_UNAUTHENTICATED_PER_ADDRESS",
        "20",
        "Websocket connections one client address (an IPv6 one by its /64) may hold on one "
        "gateway process before they authenticate (at most 10 s each); one more is closed "
        "(1008).",
        _count,
    )
    ws_max_messages_per_second: int = _setting(
        "WS_MAX_MESSAGES_PER_SECOND",
        "20",
        "Messages a websocket client may send per second (bursts of as many at once); "
        "faster, the connection is closed (1008).",
        _count,
    )
    uploads_s3_endpoint: str = _setting(
        "UPLOADS_S3_ENDPOINT",
        "",
        "An S3-compatible server for uploaded files (firms' logos and favicons), "
        "`https://host[:port]`. Empty: files are kept under `<data dir>/uploads`.",
        _optional_url("http", "https", needs_host=True),
    )
    uploads_s3_bucket: str = _setting(
        "UPLOADS_S3_BUCKET",
        "proptrade-uploads",
        "The bucket of `UPLOADS_S3_ENDPOINT` that holds uploaded files.",
        _text,
    )
    uploads_s3_region: str = _setting(
        "UPLOADS_S3_REGION",
        "us-east-1",
        "The region `UPLOADS_S3_ENDPOINT` signs requests for.",
        _text,
    )
    uploads_s3_access_key: str = _setting(
        "UPLOADS_S3_ACCESS_KEY",
        "",
        "The access key id for `UPLOADS_S3_ENDPOINT` (empty: boto3's own lookup).",
        _text,
    )
    uploads_s3_secret_key: str = _setting(
        "UPLOADS_S3_SECRET_KEY",
        "",
        "The secret access key for `UPLOADS_S3_ENDPOINT` (empty: boto3's own lookup).",
        _text,
        secret=True,
    )

    @property
    def uses_embedded_broker(self) -> bool:
        return not self.kafka_bootstrap

    @property
    def uses_embedded_clickhouse(self) -> bool:
        return not self.clickhouse_url

    @property
    def uses_insecure_secret_key(self) -> bool:
        return self.secret_key == INSECURE_DEV_SECRET_KEY

    @property
    def listens_on_loopback_only(self) -> bool:
        return is_loopback_host(self.http_host)

    @property
    def exposed_insecure_key(self) -> str | None:
        return insecure_exposure(self, self.http_host)

    @property
    def default_firm_url(self) -> str:
        return self.public_url or f"http://localhost:{self.http_port}"


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (not ``0.0.0.0`` or empty, which listen on
    every interface)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_exposure(settings: Settings, host: str) -> str | None:
    """Why a gateway listening on ``host`` must not start, or None.

    The public development ``SECRET_KEY`` lets anyone mint tokens, so it is allowed only
    where no other machine reaches the gateway: a loopback listener is not enough when a
    reverse proxy forwards to it (``TRUSTED_PROXIES``, the usual production layout: the
    gateway on 127.0.0.1 behind nginx) or the firms have public names
    (``PUBLIC_BASE_DOMAIN``, a ``PUBLIC_URL`` off loopback). A key of the operator's must
    be :data:`MIN_SECRET_BYTES` long (checked here too: a hand-built Settings skips the
    parser)."""
    if not settings.uses_insecure_secret_key:
        size = len(settings.secret_key.encode())
        if size < MIN_SECRET_BYTES:
            return (f"SECRET_KEY is {size} bytes; a secret key needs at least "
                    f"{MIN_SECRET_BYTES} bytes (a long random string)")
        return None
    fix = "set SECRET_KEY (a long random string, at least 32 bytes)"
    if not is_loopback_host(host):
        return (f"SECRET_KEY is the public development key and HTTP_HOST={host!r} is "
                f"reachable from other machines; {fix} or listen on 127.0.0.1")
    if settings.trusted_proxies:
        return ("SECRET_KEY is the public development key and TRUSTED_PROXIES is set: a "
                f"proxy brings other machines' requests to this gateway; {fix}")
    if settings.public_base_domain:
        return ("SECRET_KEY is the public development key and PUBLIC_BASE_DOMAIN="
                f"{settings.public_base_domain!r} serves firms to other machines; {fix}")
    public_host = urlsplit(settings.public_url).hostname if settings.public_url else None
    if public_host is not None and not is_loopback_host(public_host):
        return ("SECRET_KEY is the public development key and PUBLIC_URL="
                f"{settings.public_url!r} names a host other machines reach; {fix}")
    return None


def _specs() -> Iterator[tuple[str, SettingSpec]]:
    for field in dataclasses.fields(Settings):
        yield field.name, field.metadata["spec"]


def describe_settings() -> list[SettingSpec]:
    """Every setting's declaration, in declaration order (for docs and ``--help`` texts)."""
    return [spec for _, spec in _specs()]


def settings_table() -> str:
    """The settings as a Markdown table: variable, default, meaning (README.md holds it)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for spec in describe_settings():
        rows.append(f"| `{spec.variable}` | {spec.shown_default} | {spec.doc} |")
    return "\n".join(rows)


def child_environment(**overrides: str) -> dict[str, str]:
    """This process's environment with some variables set, for a process it starts (a
    benchmark's worker): the one other place that touches ``os.environ``."""
    return {**os.environ, **overrides}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting.

    :param environ: the variables to read; ``None`` reads the process environment.
    :raises SettingsError: naming the first variable whose value cannot be used.
    """
    source = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, spec in _specs():
        raw = source.get(spec.variable, "")
        if raw != "":
            values[name] = spec.parse(spec.variable, raw)
    return Settings(**values)
