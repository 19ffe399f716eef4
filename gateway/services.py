"""Everything a gateway process holds open, built once at start and handed to handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gateway.accounts import AccountRegistry
from gateway.brokers import BrokerAdapter, DemoBroker
from gateway.challenges import Challenges
from gateway.firms import Firms
from gateway.health import Parts
from gateway.history import History
from gateway.live import MetricsCache, Outcomes, StreamLink
from gateway.mail import Mailer, transport_for
from gateway.notifications import Notifier
from gateway.payments import ManualPayments
from gateway.programs import Programs
from gateway.ratelimit import RateLimiter
from gateway.riskdesk import RiskDesk
from gateway.security import TokenSigner
from gateway.tenants import TenantDirectory
from gateway.uploads import Storage, storage_for
from gateway.users import Users
from storage.cache import Cache
from storage.clickhouse import Store
from storage.database import create_pool
from streams.observability import GatewayMetrics
from streams.settings import Settings
from streams.topics import Topics

#: Bounds on every call to a part, so an unreachable part is a 503, never a wait without
#: end: PostgreSQL's connect and each query (asyncpg's ``timeout`` and
#: ``command_timeout``), Redis's connect and each reply.
POSTGRES_CONNECT_TIMEOUT = 5.0
POSTGRES_QUERY_TIMEOUT = 15.0
REDIS_CONNECT_TIMEOUT = 3.0
REDIS_REPLY_TIMEOUT = 5.0


def bounded_redis_url(url: str) -> str:
    """``url`` with Redis's socket timeouts set, unless it sets them itself."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_connect_timeout", f"{REDIS_CONNECT_TIMEOUT:g}")
    query.setdefault("socket_timeout", f"{REDIS_REPLY_TIMEOUT:g}")
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class Services:
    settings: Settings
    pool: Any
    cache: Cache
    tenants: TenantDirectory
    users: Users
    limiter: RateLimiter
    mailer: Mailer
    programs: Programs
    challenges: Challenges
    metrics: MetricsCache
    desk: RiskDesk
    outcomes: Outcomes
    firms: Firms
    history: History
    accounts: AccountRegistry
    uploads: Storage
    kafka: StreamLink | None = None  # the broker link (None without KAFKA_BOOTSTRAP)
    telemetry: GatewayMetrics = field(default_factory=GatewayMetrics)
    parts: Parts = field(default_factory=Parts)

    @classmethod
    async def open(cls, settings: Settings, schema: str = "public",
                   group: str = "proptrade-gateway", history: Store | None = None) -> Services:
        """Open everything; ``history`` is the analytics store when this process owns it
        (``proptrade up``, tests), else the store is reached at ``CLICKHOUSE_URL`` or at
        the analytics process's front (``ANALYTICS_PORT``)."""
        pool = await create_pool(settings.database_url, schema, min_size=2, max_size=10,
                                 timeout=POSTGRES_CONNECT_TIMEOUT,
                                 command_timeout=POSTGRES_QUERY_TIMEOUT)
        cache = Cache(bounded_redis_url(settings.redis_url), settings.redis_prefix)
        signer = TokenSigner(settings.secret_key)
        mailer = Mailer(pool, transport_for(settings.smtp_url, settings.data_dir),
                        settings.mail_from)
        link: StreamLink | None = None
        broker: BrokerAdapter | None = None
        if settings.kafka_bootstrap:
            link = StreamLink(settings.kafka_bootstrap, Topics.of(settings), group)
            await link.start()  # a broker that does not answer yet: retried in serve()
            broker = DemoBroker(link.producer, link.topics, link)
        registry = AccountRegistry(pool, cache)
        metrics = MetricsCache(cache, registry)
        # A trader confirming their own payment is a demonstration's shortcut only (unset:
        # off; `proptrade up` sets it unless the operator wrote DEMO_PAYMENTS=0).
        payments = ManualPayments(trader_may_confirm=settings.demo_payments is True)
        challenges = Challenges(pool, payments, broker,
                                Notifier(pool, settings))
        directory = TenantDirectory(pool, settings.public_base_domain,
                                    settings.default_firm_url)
        parts = Parts()
        history_door = History(history, settings.clickhouse_url
                               or f"http://127.0.0.1:{settings.analytics_port}", parts)
        parts.add("postgres", lambda: pool.fetchval("SELECT 1"))
        parts.add("redis", cache.ping)
        if link is not None:
            parts.add("broker", link.ready)
        parts.add("analytics", history_door.ping)
        metrics.parts = parts
        uploads = storage_for(settings)
        return cls(settings, pool, cache, directory, Users(pool, cache, signer),
                   RateLimiter(cache), mailer, Programs(pool), challenges, metrics,
                   RiskDesk(pool, challenges, broker, metrics, registry),
                   Outcomes(pool, cache, challenges, broker, registry),
                   Firms(pool, directory, uploads), history_door, registry, uploads, link,
                   parts=parts)

    async def close(self) -> None:
        if self.kafka is not None:
            await self.kafka.stop()
        await self.cache.close()
        await self.pool.close()
