"""Reconciliation (对账): statements in, three-way matching, corrections."""
