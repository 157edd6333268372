"""Meter commands: disconnect and reconnect, sent to a utility's head-end system.

- ``wire``: the interface on the wire (docs/head-end-protocol.md), shared with the simulator;
- ``config``: each biller's head-end: URL, secrets, timeouts, give-up time;
- ``commands``: ``decide`` — one command per decision, numbered per meter in the order decided;
- ``consumers``: ``prepaid.cut`` and ``prepaid.restored`` become disconnects and reconnects;
- ``calls``: signed calls to a head-end and the verification of its answers;
- ``delivery``: the background pass that sends, follows and retries commands.
"""
