"""The biller simulator: the utility's side of biller-protocol.md, for demos and fault campaigns.

It keeps its own books (accounts, bills, write-off orders) in a PostgreSQL schema
of its own, answers the four transactions over HTTP exactly as the protocol
says, injects network and utility faults on request, and reports its own
records (statement lines, standing write-offs) for the hub to be judged against.
"""
