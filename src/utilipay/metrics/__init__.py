"""Operational metrics for Prometheus: the hub's backlogs, read from the database."""
