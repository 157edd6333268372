"""The mainland China working-day calendar (adjusted weekends included) and the windows
built on it: when an auto-pay debit or a prepaid top-up may be sent, when supply may be cut."""
