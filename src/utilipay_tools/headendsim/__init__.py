"""The head-end simulator: a utility's metering head-end, the other side of
docs/head-end-protocol.md (tests, demo).

It verifies the hub's signed requests as a channel does, takes each command once
(its id is the idempotency key), applies the per-meter sequence rule, switches
its meters' relays, signs its answers, and injects faults: answers lost or late,
503s, commands only accepted and executed later, forged answer signatures.
Everything lives in memory: a simulator starts with every meter connected.
"""
