"""The one error hierarchy of hybrid_search; the API maps it to HTTP in api/errors.py."""

from __future__ import annotations


class HybridSearchError(Exception):
    """Base of every error the library raises on purpose."""

    code = "internal_error"


class InvalidInputError(HybridSearchError):
    """Caller input failed validation; ``field`` names the offending field."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnauthorisedError(HybridSearchError):
    """No or an unknown API key."""

    code = "unauthorised"


class ForbiddenError(HybridSearchError):
    """The caller may not do this from where it asks (a console form posted from another site)."""

    code = "forbidden"


class NotFoundError(HybridSearchError):
    """Nothing by that name; ``field`` names the request field that named it, when one did."""

    code = "not_found"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConflictError(HybridSearchError):
    code = "conflict"


class RateLimitedError(HybridSearchError):
    """The caller sent more than its share this minute; it may retry after ``retry_after_s``."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceUnavailableError(HybridSearchError):
    """A backing service (OpenSearch, Redis) cannot be reached; the caller may retry."""

    code = "service_unavailable"

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BackendError(HybridSearchError):
    """A backing service answered with an error that is not the caller's fault."""

    code = "backend_error"


class LocalServiceError(HybridSearchError):
    """The local OpenSearch node or Redis could not be installed, started or stopped."""

    code = "local_service_error"
