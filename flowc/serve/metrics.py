"""What `GET /metrics` shows, in the Prometheus text format. A registry of
the service's own, so that two services in one process (tests) do not mix."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self):
        self.registry = r = CollectorRegistry()
        self.events = Counter("flowc_events", "Event lines received, by result", ["result"], registry=r)
        self.outcomes = Counter(
            "flowc_audit_entries", "Audit entries written, by outcome and reason", ["outcome", "reason"], registry=r
        )
        self.outbox = Gauge("flowc_outbox_messages", "Outbox messages, by state", ["state"], registry=r)
        self.delivery = Histogram("flowc_delivery_seconds", "Time to hand one due message to its transport", registry=r)
        self.engine = Histogram(
            "flowc_engine_seconds_per_event",
            "Engine time per event line",
            registry=r,
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )

        self.inbox = Counter(
            "flowc_inbox_messages",
            "Messages read from the inboxes, by inbox and class "
            "(reply, auto_reply, bounce, bounce_delayed, unsubscribed, not_ours, skipped, duplicate)",
            ["inbox", "class"],
            registry=r,
        )
        self.inbox_errors = Counter(
            "flowc_inbox_read_errors", "Failed reads of an inbox (login, connection, timeout)", ["inbox"], registry=r
        )

    def inbox_counted(self, inbox: str, what: str) -> None:
        """Told by an inbox reader of each message read and each read error."""
        if what == "read_error":
            self.inbox_errors.labels(inbox).inc()
        else:
            self.inbox.labels(inbox, what).inc()

    def count(self, entries) -> None:
        for e in entries:
            self.outcomes.labels(str(e.outcome), str(e.reason or "")).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)
