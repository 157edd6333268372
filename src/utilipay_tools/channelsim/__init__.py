"""The channel simulator: a wallet app's side of channel-api.md §7, §9 and §10 (tests, demo).

It verifies the hub's signed requests as the hub verifies a channel's, takes
(or refuses) the money the hub asks for with an outcome chosen per funding
source, answers a repeated debit from its record, keeps a ledger of what it
took, and keeps the webhooks and notifications the hub sends. Everything lives
in memory: a simulator starts empty.
"""
