"""Schemathesis hooks for the Sparta API (loaded by `hooks = "hooks.py"` in schemathesis.toml).

map_case runs on every generated case in every phase (coverage, fuzzing, stateful), after the
case is generated and before it is sent.
"""
import re
import uuid

import hypothesis.internal.lambda_sources as _lambda_sources
import schemathesis
from schemathesis import GenerationMode

# CPython 3.11.7's `ast.parse` can raise "SystemError: AST constructor recursion depth mismatch"
# when called deep in a stack (fixed in later 3.11 releases); hypothesis calls it only to print a
# strategy's lambda in its repr, and the error then aborts a whole operation (seen in one of two
# runs of 2026-12-06, on POST /v1/admin/jobs/{id}/retry). A description the parse cannot give is "unknown".
_describe = _lambda_sources._lambda_description


def _lambda_description(f, *args, **kwargs):
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


_lambda_sources._lambda_description = _lambda_description

_VALID_KEY = re.compile(r"^[!-~]{1,255}$")


def _is_positive(case) -> bool:
    return case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook
def map_case(context, case):
    # 1. A schema-valid Idempotency-Key is made unique: a key reused with another body is 409
    #    CONFLICT, which hides the body's own validation. Invalid keys (negative tests) stay.
    headers = case.headers
    if headers and isinstance(headers.get("Idempotency-Key"), str) and _VALID_KEY.match(headers["Idempotency-Key"]):
        headers["Idempotency-Key"] = f"st-{uuid.uuid4()}"
    # 2. No webhook to a generated host: an accepted job with webhook_url makes the worker resolve
    #    and POST to it (e.g. https://ru.info/) and retry for hours.
    body = case.body
    if case.method.upper() == "POST" and isinstance(body, dict):
        if case.path == "/v1/jobs" and _is_positive(case) and isinstance(body.get("webhook_url"), str):
            body["webhook_url"] = None
        elif case.path == "/v1/jobs/batch" and isinstance(body.get("jobs"), list):
            for item in body["jobs"]:
                if isinstance(item, dict) and isinstance(item.get("webhook_url"), str):
                    item["webhook_url"] = None
    return case
