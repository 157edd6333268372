"""Verifying a binding (channel-api.md §13): what the utility's mode asks for, and the
holder's name compared with the one on record.

One refusal for every wrong proof, 403 ``FORBIDDEN`` (a wrong name, a wrong, expired, used
or unknown code), so a caller learns nothing about an account beyond what its utility's
mode already tells. A proof that is missing, or not the kind the mode takes, is 403
``VERIFICATION_REQUIRED``: the caller knows what to ask the payer for.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import timedelta
from typing import Final

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import Biller, Verification
from utilipay.bindings.brake import Brake, payer_and_account
from utilipay.bindings.challenges import code_matches
from utilipay.bindings.schemas import VerificationRequest
from utilipay.bindings.tables import binding_failures
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode

# Names are short and guessable from a surname list: 5 wrong ones for a payer or an
# account within 15 minutes hold both back for what is left of the window.
NAME_GUESSES: Final = Brake(
    binding_failures, "at", most=5, window=timedelta(minutes=15), counted="wrong holder names"
)
# The separators of a name in its several spellings (阿卜杜·热合曼, 阿卜杜・热合曼, …).
_DOTS: Final = str.maketrans({"・": "·", "•": "·", "‧": "·", "･": "·", ".": "·"})
# A space next to a Chinese character (or a middle dot) is no part of the name: 张 三 is 张三.
_SPACE_BY_WIDE: Final = re.compile(r" ?([^\x00-\x7f]) ?")
_HOLDER = text(
    "SELECT holder_name FROM billing_accounts WHERE biller_id = :biller_id"
    " AND account_no = :account_no"
)


def wrong_proof() -> DomainError:
    return DomainError(
        ErrorCode.FORBIDDEN,
        "the verification does not match the account's records (an SMS code is valid for 5"
        " minutes and 3 tries; ask for a new one)",
    )


def check_mode(biller: Biller, proof: VerificationRequest | None) -> None:
    """A new binding gives what the utility's mode asks for (VERIFICATION_REQUIRED)."""
    mode = biller.verification
    if mode is Verification.SMS and (proof is None or proof.sms_code is None):
        raise DomainError(
            ErrorCode.VERIFICATION_REQUIRED,
            f"{biller.code} binds an account only with an SMS code sent to the phone on record "
            '(POST /v1/bindings/challenges, then "verification": {"sms_code": …})',
        )
    if mode is Verification.HOLDER_NAME and proof is None:
        raise DomainError(
            ErrorCode.VERIFICATION_REQUIRED,
            f"{biller.code} binds an account only with the holder's name "
            '("verification": {"holder_name": …}) or an SMS code',
        )


async def proof_passes(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, payer: str,
    account_no: str, proof: VerificationRequest,
) -> bool:  # fmt: skip
    """Whether the payer's proof holds: its SMS code, else its holder name."""
    if proof.sms_code is not None:
        return await code_matches(conn, clock, channel, biller, payer, account_no, proof.sms_code)
    name = proof.holder_name or ""  # the model holds exactly one of the two
    return await holder_matches(conn, clock, channel, biller, payer, account_no, name)


def normalised(name: str) -> bytes:
    """A name as compared: full-width forms as half-width (NFKC), runs of whitespace as one
    space and none beside a Chinese character, the middle dots as one, letters case-folded;
    UTF-8."""
    folded = unicodedata.normalize("NFKC", name).translate(_DOTS).casefold()
    return _SPACE_BY_WIDE.sub(r"\1", " ".join(folded.split())).encode()


async def holder_matches(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, payer: str,
    account_no: str, given: str,
) -> bool:  # fmt: skip
    """Whether ``given`` is the holder on record, compared in constant time; a wrong one is
    counted (the caller commits it before refusing). Refused past the brake. A remote
    utility's holder is not the hub's to know: no name matches."""
    now = clock.now()
    keys = payer_and_account(
        "binding-name", binding_failures, channel, biller.id, payer, account_no
    )
    await NAME_GUESSES.check(conn, now, keys)
    found = await conn.execute(_HOLDER, {"biller_id": biller.id, "account_no": account_no})
    on_record = found.scalar_one_or_none() or ""
    # compared even when nothing is on record, so the time taken says nothing either
    matches = hmac.compare_digest(normalised(on_record), normalised(given)) and bool(on_record)
    if not matches:
        await conn.execute(
            insert(binding_failures).values(
                biller_id=biller.id, channel_id=channel.id, payer=payer, account_no=account_no,
                at=now,
            )
        )  # fmt: skip
    return matches
