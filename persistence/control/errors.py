"""What the control store raises; the API turns each into an HTTP status with a JSON body."""

from core.errors import SpreadwrightError


class StoreError(SpreadwrightError):
    """Base of the control store's errors."""


class NotFoundError(StoreError):
    """No row of that id (404)."""


class ConflictError(StoreError):
    """The change collides with another (a name taken, a second activation at once): 409."""


class DatabaseUnavailableError(StoreError):
    """The database cannot be reached; nothing was written (503)."""


class SessionStartError(StoreError):
    """A session's process could not be started (its row is closed as failed with the reason): 503."""
