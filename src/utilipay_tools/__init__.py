"""Tools that live beside the hub and are not part of it: the biller, channel and head-end
simulators, the demo, the benchmarks and the fault campaign. The hub never imports them
(a contract in ``pyproject.toml`` keeps it so); their commands join ``utilipay`` through
the ``utilipay.commands`` entry point."""
