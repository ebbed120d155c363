"""Errors raised by services; the API maps each class to one HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of service errors; ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, object]:
        if self.field:
            return {self.field: [self.message], "detail": self.message}
        return {"detail": self.message}


class InvalidInput(ServiceError):
    status = 400


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Gone(ServiceError):
    status = 410


class PayloadTooLarge(ServiceError):
    status = 413
