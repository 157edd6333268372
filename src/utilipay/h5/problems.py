"""What a refusal says to a payer. The pages refuse with the API's problem codes (the same
rules), but a payer reads words, in their language: each code a page can meet has a
sentence here, and the code follows it in brackets for the app's customer service. The
API's own detail is English written for a channel's developer, so it is shown only where
it says what to fix and no sentence can (a malformed form: which field)."""

from __future__ import annotations

from starlette.requests import Request

from utilipay.console.i18n import translator, words
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.templating import PACKAGE, locale_of

_UNAVAILABLE = words("The utility is not answering right now. Please try again later.")
_NOT_FOUND = words("This was not found.")
SENTENCES: dict[ErrorCode, str] = {
    ErrorCode.INVALID_ACCOUNT: words(
        "This account number is not in the form this utility uses. Check it on a bill."
    ),
    ErrorCode.ACCOUNT_NOT_FOUND: words("The utility has no account with this number."),
    ErrorCode.BILLER_NOT_FOUND: words("This utility cannot be paid here."),
    ErrorCode.BILLER_UNAVAILABLE: _UNAVAILABLE,
    ErrorCode.SERVICE_UNAVAILABLE: _UNAVAILABLE,
    ErrorCode.NO_BILL_DUE: words("Nothing is due on this account."),
    ErrorCode.BILL_ALREADY_PAID: words("This bill has been paid already."),
    ErrorCode.VERIFICATION_REQUIRED: words(
        "This account must be verified first: bind it again with the utility's check."
    ),
    ErrorCode.BINDING_REQUIRED: words("Bind this account first."),
    ErrorCode.PHONE_REQUIRED: words(
        "The utility has no mobile number for this account, so no code can be sent. "
        "Please ask the utility."
    ),
    ErrorCode.RATE_LIMITED: words("Too many tries. Please wait a while and try again."),
    ErrorCode.AMOUNT_OUT_OF_RANGE: words("This amount is not allowed."),
    ErrorCode.MANDATE_EXISTS: words("This account already has auto-pay at this app."),
    ErrorCode.MANDATE_NOT_ACTIVE: words("This auto-pay has ended."),
    ErrorCode.TARIFF_REQUIRED: words(
        "This account cannot use smart payment yet. Please ask the utility."
    ),
    ErrorCode.METER_REQUIRED: words(
        "This account cannot use smart payment yet. Please ask the utility."
    ),
    ErrorCode.FORBIDDEN: _NOT_FOUND,  # another's object is as if it did not exist
    ErrorCode.NOT_FOUND: _NOT_FOUND,
    ErrorCode.MALFORMED_REQUEST: words("Please check what you entered:"),
}
_DETAILED = frozenset({ErrorCode.MALFORMED_REQUEST})
_FALLBACK = words("This could not be done.")


def sentence_of(exc: DomainError) -> str:
    """The refusal's sentence in English (translated where it is shown)."""
    return SENTENCES.get(exc.code, _FALLBACK)


def said(request: Request, exc: DomainError) -> str:
    """The refusal in the visitor's language, its code in brackets."""
    _ = translator(locale_of(request), PACKAGE)
    sentence = _(sentence_of(exc))
    if exc.code in _DETAILED or exc.code not in SENTENCES:
        sentence = f"{sentence} {exc.detail}"
    return f"{sentence} ({exc.code})"
