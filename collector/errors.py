"""The two ways a downstream (a store, a webhook) can fail, whatever library talks to it.

Each client module translates its library's exceptions into these, once; the
retry loops decide from the class alone whether trying again can help.
"""


class UnavailableError(Exception):
    """The downstream could not take the data now (down, overloaded, timed out): retry."""


class RejectedError(Exception):
    """The downstream refused this data for good (bad request, auth): retrying cannot help."""
