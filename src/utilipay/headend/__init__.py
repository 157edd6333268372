"""Meter commands: disconnect and reconnect sent to a utility's head-end system, idempotent, ordered, retried; and the head-end simulator."""
