"""Backtests: a classifier configuration replayed over the mirror's past conversations, and its report."""
