"""Early warning of collection (回收预警): rules per utility, their warnings, the staff told."""
