"""Meters and meter readings: import from CSV, the API and Green Button (ESPI) XML, validated, turned into usage per account, day and register."""
