"""The printable receipt (缴费凭证, channel-api.md §11): 58 mm text and PDF, the amount in
Chinese capitals, and a verification code the hub can check."""
