"""The biller protocol (biller-protocol.md): framing, signatures and messages, for both sides."""
