"""Project-wide pytest plugins: the Kustomer sandbox, the local Messages API server, headless Chromium."""

import pytest

from bearscope.models import singletons_forget

pytest_plugins = [
    "bearscope.testing.browser",
    "bearscope.testing.llm_fixtures",
    "kustomer.tests.sandbox_fixtures",
]


@pytest.fixture(autouse=True)
def _settings_rows_read_afresh():
    """Each test starts without the settings rows an earlier test read: its database was rolled back."""
    singletons_forget()
    yield
    singletons_forget()
