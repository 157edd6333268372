"""Tariffs (电价、水价): effective-dated per biller and customer class.

Block (阶梯) bands by month or calendar year, time-of-use (峰平谷) register
rates and fixed monthly charges; exact Decimal arithmetic with one rounding
to fen (``calculator.to_fen``). ``model`` says what a version is,
``calculator`` prices usage, ``files`` reads the published TOML files,
``store`` and ``service`` keep them in PostgreSQL, where ``sql/calculator.sql`` holds
the same calculator in SQL for set-based work.
"""
