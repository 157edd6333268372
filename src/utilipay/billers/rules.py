"""The account-number rule of a biller: a regular expression a 户号 must match in full.

Beijing water, for example: 10 digits starting 01–09 or 25 → ``(0[1-9]|25)[0-9]{8}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from utilipay.errors import DomainError, ErrorCode

MAX_ACCOUNT_LENGTH = 64
MAX_RULE_LENGTH = 256


@dataclass(frozen=True, slots=True)
class AccountRule:
    pattern: str
    hint: str
    _compiled: re.Pattern[str]

    @classmethod
    def parse(cls, pattern: str, hint: str = "") -> AccountRule:
        if not pattern or len(pattern) > MAX_RULE_LENGTH:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST,
                f"account rule must be 1-{MAX_RULE_LENGTH} characters",
            )
        try:
            # ASCII: \d must not accept full-width or other scripts' digits.
            compiled = re.compile(pattern, re.ASCII)
        except re.error as exc:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST, f"account rule {pattern!r} is not a regex: {exc}"
            ) from exc
        return cls(pattern=pattern, hint=hint, _compiled=compiled)

    def accepts(self, account_no: str) -> bool:
        return len(account_no) <= MAX_ACCOUNT_LENGTH and bool(self._compiled.fullmatch(account_no))

    def check(self, biller_code: str, account_no: str) -> str:
        if not self.accepts(account_no):
            hint = f" ({self.hint})" if self.hint else ""
            raise DomainError(
                ErrorCode.INVALID_ACCOUNT,
                f"account {account_no[:MAX_ACCOUNT_LENGTH]!r} does not fit biller "
                f"{biller_code}'s rule{hint}",
            )
        return account_no
