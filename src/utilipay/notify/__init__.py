"""Payer notifications: outbox events become messages (templates in zh-CN and en), queued
one per event and recipient, and delivered through the payer's channel, e-mail, SMS or a
log file, with retries, backoff and a log of every attempt; due-date reminders and overdue
notices (逾期提醒), each as the payer chose (``choices``)."""
