"""Tariffs (电价、水价): effective-dated per biller and customer class; block (阶梯) bands by month or year, time-of-use (峰平谷) rates and fixed monthly charges, in Decimal with one rounding to fen."""
