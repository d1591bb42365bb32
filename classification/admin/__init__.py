"""The ops leaders' classification admin: taxonomy, settings, classifications, reviews, models, labels."""

from . import classifications, labels, local_models, taxonomy

__all__ = ["classifications", "labels", "local_models", "taxonomy"]
