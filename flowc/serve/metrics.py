"""What `GET /metrics` shows, in the Prometheus text format. A registry of
the service's own, so that two services in one process (tests) do not mix."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self):
        self.registry = r = CollectorRegistry()
        self.events = Counter("flowc_events", "Event lines received, by result", ["result"], registry=r)
        self.outcomes = Counter("flowc_audit_entries", "Audit entries written, by outcome and reason",
                                ["outcome", "reason"], registry=r)
        self.outbox = Gauge("flowc_outbox_messages", "Outbox messages, by state", ["state"], registry=r)
        self.delivery = Histogram("flowc_delivery_seconds", "Time to hand one due message to its transport",
                                  registry=r)
        self.engine = Histogram("flowc_engine_seconds_per_event", "Engine time per event line", registry=r,
                                buckets=(.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1))

    def count(self, entries) -> None:
        for e in entries:
            self.outcomes.labels(str(e.outcome), str(e.reason or "")).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)
