"""Prometheus metrics of a stream worker, on a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class WorkerMetrics:
    """Events in and out per topic, latency event time → answer, accounts, checkpoints."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_in = Counter("proptrade_events_in", "Messages read, per topic",
                                 ["topic"], registry=self.registry)
        self.answers_out = Counter("proptrade_answers_out",
                                   "Answers and account snapshots published, per topic",
                                   ["topic"], registry=self.registry)
        self.dead_letters = Counter("proptrade_dead_letters",
                                    "Messages and events sent to the dead-letter topic",
                                    registry=self.registry)
        self.accounts_held = Gauge("proptrade_accounts_held",
                                   "Accounts in this worker's shards", registry=self.registry)
        self.lag = Gauge("proptrade_consumer_lag",
                         "Messages on the broker not read yet, per topic",
                         ["topic"], registry=self.registry)
        self.checkpoint_age = Gauge("proptrade_checkpoint_age_seconds",
                                    "Age of the oldest shard checkpoint of this worker",
                                    registry=self.registry)
        self.checkpoints = Counter("proptrade_checkpoints", "Shard checkpoints saved",
                                   registry=self.registry)
        self.latency = Histogram(
            "proptrade_answer_latency_seconds",
            "Event time of the last event of a round to the answers' publication",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0),
            registry=self.registry)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)


class GatewayMetrics:
    """Requests per route and status with their latency, websocket clients, hub traffic."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "proptrade_http_request_seconds", "REST requests: latency, per route and status",
            ["route", "method", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry)
        self.websockets = Gauge("proptrade_websocket_clients", "Open websocket connections",
                                registry=self.registry)
        self.delivered = Counter("proptrade_websocket_messages",
                                 "Messages handed to websocket clients",
                                 registry=self.registry)
        self.dropped = Counter("proptrade_websocket_dropped",
                               "Websocket clients dropped for being too slow",
                               registry=self.registry)
