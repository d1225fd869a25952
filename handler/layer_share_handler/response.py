"""Deliver one response to CloudFormation's presigned ResponseURL: bounded retries, status checked, URL never logged."""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import time
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from .protocol import CloudFormationResponse

logger = logging.getLogger(__name__)

RESPONSE_LIMIT = 4096  # bytes; CloudFormation rejects larger response bodies
DELIVERY_ATTEMPTS = 3
DELIVERY_TIMEOUT = 4.0  # seconds per attempt
# Worst case of deliver() with time to spare: every attempt times out, plus the pauses between them.
DELIVERY_WORST_CASE = DELIVERY_ATTEMPTS * DELIVERY_TIMEOUT + sum(0.5 * 2**n for n in range(DELIVERY_ATTEMPTS - 1))
_MIN_ATTEMPT = 0.25  # seconds; a PUT of a few hundred bytes to S3 takes tens of milliseconds

_TRUNCATED = " [truncated]"


def encode_within_limit(body: CloudFormationResponse) -> bytes:
    """JSON-encode the response, shortening Reason (its start says the most) and then Data to fit the limit."""
    payload = json.dumps(body).encode()
    if len(payload) <= RESPONSE_LIMIT:
        return payload
    reason = body["Reason"].encode()
    overflow = len(payload) - RESPONSE_LIMIT + len(_TRUNCATED)
    shortened: CloudFormationResponse = {
        **body,
        "Reason": reason[: max(0, len(reason) - overflow)].decode(errors="ignore") + _TRUNCATED,
    }
    payload = json.dumps(shortened).encode()
    if len(payload) <= RESPONSE_LIMIT:
        return payload
    return json.dumps({**shortened, "Data": {}, "Reason": shortened["Reason"][:1000]}).encode()


def deliver(
    response_url: Any, payload: bytes, seconds: float = DELIVERY_WORST_CASE, clock: Callable[[], float] = time.monotonic
) -> bool:
    """PUT the payload within `seconds`; retry connection errors and 5xx, never a 4xx. True only for a 2xx answer."""
    try:
        parts = urlsplit(response_url)
        host, port = parts.hostname, parts.port
    except (AttributeError, TypeError, ValueError):  # not a URL at all
        host = None
    if not host or parts.scheme != "https":
        logger.error("The event's ResponseURL is not an https URL; no response can be delivered")
        return False
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    ends = clock() + seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            # The first attempt is made however little time is left: there is nothing better to do with it.
            status = _put(host, port, target, payload, max(_MIN_ATTEMPT, min(DELIVERY_TIMEOUT, ends - clock())))
        except (OSError, http.client.HTTPException) as error:
            logger.warning("Response delivery attempt %d failed: %s", attempt, type(error).__name__)
        else:
            if 200 <= status < 300:
                logger.info("CloudFormation accepted the response (HTTP %d)", status)
                return True
            if status < 500:
                logger.error("CloudFormation refused the response with HTTP %d; it was not delivered", status)
                return False
            logger.warning("Response delivery attempt %d got HTTP %d", attempt, status)
        pause = 0.5 * 2 ** (attempt - 1)
        if attempt == DELIVERY_ATTEMPTS or ends - clock() - pause < _MIN_ATTEMPT:
            logger.error("The response was not delivered after %d attempts", attempt)
            return False
        time.sleep(pause)


@cache
def _tls_context() -> ssl.SSLContext:
    """One context per process: building it loads the CA bundle, most of a warm event's CPU at 128 MB.
    The default context honours SSL_CERT_FILE, and verifies CloudFormation's certificate."""
    return ssl.create_default_context()


def _put(host: str, port: Any, target: str, payload: bytes, timeout: float) -> int:
    connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=_tls_context())
    try:
        # An empty content-type is what the presigned URL was signed for.
        connection.request(
            "PUT", target, body=payload, headers={"content-type": "", "content-length": str(len(payload))}
        )
        return connection.getresponse().status
    finally:
        connection.close()
