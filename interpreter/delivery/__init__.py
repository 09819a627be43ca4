"""Delivery, the stage after the engine: the outbox the engine writes
(outbox.py), the message built from an outbox row (mail.py, addresses.py,
envelope.py), the transports that send it (transports.py, smtp_client.py),
the deliverer that claims, sends and records (deliverer.py, inline.py for
sending on the engine's clock) and the unsubscribe tokens a message links to
(unsubscribe.py). docs/architecture.md draws where it sits."""
