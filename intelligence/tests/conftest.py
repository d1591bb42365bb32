"""Fixtures of the insight tests: the headless Chromium of the triage page tests."""

from classification.tests.conftest import browser, page

__all__ = ["browser", "page"]
