"""Recharge vouchers (电费充值卡/券, channel-api.md §12): issued in batches by a utility,
activated when sold, redeemed against an account's bills, prepaid balance or credit.

The money, in the ledger (``ledger/flows.py`` tells every entry):

- issuing moves no money (the audit log records the batch);
- a sale (activation) makes the face values a liability to the holders
  (``VOUCHER_LIABILITY``), paid from the selling outlet's float, or, when the utility
  sold them itself and holds the cash, taken off what the hub owes the utility;
- a redemption turns the liability into written-off bills (the utility's payable), a
  prepaid balance, or a credit (``VOUCHER_CREDIT``) that the account's next bills use;
- a sold voucher that expires unredeemed is breakage: the utility keeps its value.
"""
