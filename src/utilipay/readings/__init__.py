"""Meters and meter readings: imported from CSV, the admin API and Green Button (ESPI) XML,
validated, and turned into usage per account, day and register (``daily_usage``)."""
