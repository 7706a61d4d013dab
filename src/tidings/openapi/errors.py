"""Gateway errors: what the Alibaba Cloud API gateway itself reports, before any action runs.

They reach the SDKs as an HTTP error status with a JSON body, which the SDKs turn into exceptions
carrying ``Code`` and ``Message``; the wording follows the real gateway where it is known, because
the old Python SDK parses ``SignatureDoesNotMatch`` messages (it splits on the first colon).
"""

from __future__ import annotations


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def missing(param: str) -> GatewayError:
    return GatewayError(400, f"Missing{param}", f"{param} is mandatory for this action.")


def invalid_parameter(detail: str) -> GatewayError:
    return GatewayError(400, "InvalidParameter", f"Specified parameter is not valid: {detail}")


def incomplete_signature(detail: str) -> GatewayError:
    return GatewayError(
        400,
        "IncompleteSignature",
        f"The request signature does not conform to Aliyun standards: {detail}",
    )


def invalid_signature_method(method: str) -> GatewayError:
    return GatewayError(
        400, "InvalidSignatureMethod", f"Specified signature method is not valid: {method!r}."
    )


def signature_mismatch(string_to_sign: str) -> GatewayError:
    return GatewayError(
        400,
        "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation. "
        f"server string to sign is:{string_to_sign}",
    )


def timestamp_format(value: str) -> GatewayError:
    return GatewayError(
        400,
        "InvalidTimeStamp.Format",
        "Specified time stamp or date value is not well formatted: "
        f"{value!r} is not yyyy-MM-ddTHH:mm:ssZ in UTC.",
    )


def timestamp_expired(value: str, skew_seconds: int) -> GatewayError:
    return GatewayError(
        400,
        "InvalidTimeStamp.Expired",
        f"Specified time stamp or date value is expired: {value} is more than "
        f"{skew_seconds // 60} minutes away from the server's clock.",
    )


def nonce_used() -> GatewayError:
    return GatewayError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")


def access_key_not_found() -> GatewayError:
    return GatewayError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")


def access_key_inactive() -> GatewayError:
    return GatewayError(400, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")


def api_not_found(action: str, version: str) -> GatewayError:
    return GatewayError(
        404,
        "InvalidApi.NotFound",
        f"Specified api is not found,please check your url and method: {action} {version}.",
    )


def forbidden(detail: str) -> GatewayError:
    return GatewayError(403, "Forbidden.RAM", f"User not authorized to operate: {detail}")


def unsupported_method(method: str) -> GatewayError:
    return GatewayError(
        400, "UnsupportedHTTPMethod", f"Specified HTTP method {method} is not supported."
    )


def body_too_large(limit: int) -> GatewayError:
    return GatewayError(
        413, "RequestEntityTooLarge", f"The request body is larger than {limit} bytes."
    )


def internal_error() -> GatewayError:
    return GatewayError(
        500, "InternalError", "The request processing has failed due to some unknown error."
    )


def database_unavailable() -> GatewayError:
    return GatewayError(
        503,
        "ServiceUnavailable",
        "The database is out of reach; the request may not have been done. Send it again.",
    )


def stopping() -> GatewayError:
    return GatewayError(
        503,
        "ServiceUnavailable",
        "The server is stopping; nothing was done. Send the request again.",
    )
