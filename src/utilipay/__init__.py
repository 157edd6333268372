"""utilipay: a utility bill payment hub (生活缴费平台)."""

__version__ = "0.1.0"
