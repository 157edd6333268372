"""Property-based fuzzing of the whole HTTP surface from its OpenAPI document (schemathesis).

Every operation is called with inputs generated from its schema, valid ones and invalid
ones, over HTTP against the real app on the real database, in passes that each
authenticate differently: signed as a channel (channel-api.md §3, over the final method,
path with query and body, with a fresh nonce and timestamp per request), with admin
credentials, and unauthenticated. Each response must be below 500 and conform to the
document: its status code and content type documented, its headers and (where the app
declares one) its body matching the schema.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from requests.auth import AuthBase
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Err, Result
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from utilipay.security.signing import new_nonce, signed_headers

# Names of things the fuzzed hub has (tests/web/test_fuzz.py builds them). A generated body,
# query or path may also be tried with these in place: random text would hardly ever
# name a biller, so the routes would never get past their lookups.
KNOWN: dict[str, Any] = {
    "biller": "BJWATER",
    "account": "0112345678",
    "payer": "wx-openid-fuzz",
    "bill_nos": ["B202610-0001"],
    "amount": 12345,
    "channel": "WECHAT",
    "party": "biller",
    "code": "BJWATER",
}


def _with_known_names(values: Any) -> SearchStrategy[Any]:
    if not isinstance(values, dict) or not KNOWN.keys() & values.keys():
        return st.just(values)
    named = {**values, **{key: KNOWN[key] for key in KNOWN.keys() & values.keys()}}
    return st.sampled_from([values, named])


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> SearchStrategy[Any]:
    return _with_known_names(body)


@schemathesis.hook
def flatmap_query(context: schemathesis.HookContext, query: Any) -> SearchStrategy[Any]:
    return _with_known_names(query)


@schemathesis.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path: Any) -> SearchStrategy[Any]:
    return _with_known_names(path)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class SignedAsChannel(AuthBase):
    """Signs each request as it goes on the wire, so the signature covers exactly what
    the hub receives."""

    def __init__(self, code: str, secret: str) -> None:
        self.code, self.secret = code, secret

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        content = body.encode() if isinstance(body, str) else body
        assert isinstance(content, bytes)
        timestamp = int(time.time())
        headers = signed_headers(
            self.code, self.secret, r.method or "GET", r.path_url, content, timestamp, new_nonce()
        )
        r.headers.update(headers)
        return r


class WithHeaders(AuthBase):
    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = dict(headers)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers.update(self.headers)
        return r


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # first of each kind

    @property
    def requests(self) -> int:
        return self.statuses.total()

    def record(self, operation: str, response: schemathesis.Response) -> None:
        self.operations.add(operation)
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors[f"{operation} -> {response.status_code}"] += 1

    def failed(self, operation: str, failure: BaseException) -> None:
        self.failures.setdefault(f"{operation}: {type(failure).__name__}", str(failure)[:2000])

    def summary(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"operations: {len(self.operations)}, requests: {self.requests}, "
            f"5xx: {sum(self.server_errors.values())}, nonconforming kinds: "
            f"{len(self.failures)} (statuses {statuses})"
        )


# schemathesis hands its operations over unparametrized, whatever the document's kind.
Operation = APIOperation[Any, Any, Any, Any]


def _readable(result: Result[Operation, InvalidSchema]) -> Operation:
    """An operation of the document; one schemathesis cannot read fails the run, saying why."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


def _fuzz_operation(
    operation: Operation,
    mode: GenerationMode,
    session: requests.Session,
    base_url: str,
    examples: int,
    tally: Tally,
    round_seed: int,
) -> None:
    @seed(round_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: schemathesis.Case[Operation]) -> None:
        response = case.call(base_url=base_url, session=session)
        tally.record(operation.label, response)
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as failure:  # every kind is kept, the run goes on
            tally.failed(operation.label, failure)

    call()


def fuzz(
    base_url: str,
    passes: Mapping[str, AuthBase | None],
    *,
    examples: int,
    at_least: int = 0,
) -> Tally:
    """Each pass over every operation, valid and invalid inputs, ``examples`` each; repeated
    with new seeds until at least ``at_least`` requests were made."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [_readable(result) for result in schema.get_all_operations()]
    tally = Tally()
    round_seed = 0
    while round_seed == 0 or tally.requests < at_least:
        round_seed += 1
        for auth in passes.values():
            with requests.Session() as session:
                session.auth = auth
                for operation in operations:
                    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                        _fuzz_operation(
                            operation, mode, session, base_url, examples, tally, round_seed
                        )
    return tally
