"""Collection management (电费回收): what was billed and what was collected, arrears, the
channel mix, prepaid and auto-pay figures, per utility, branch, region, channel and outlet."""
