"""The ops leaders' classification admin: taxonomy and settings, classifications and reviews, local models."""

from . import classifications, local_models, taxonomy

__all__ = ["classifications", "local_models", "taxonomy"]
