"""Exceptions shared across apps."""


class BearScopeError(Exception):
    """Base class for errors BearScope raises on purpose."""
