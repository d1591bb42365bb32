"""Project-wide pytest plugins: the Kustomer sandbox, the local Messages API server, headless Chromium."""

pytest_plugins = [
    "bearscope.testing.browser",
    "bearscope.testing.llm_fixtures",
    "kustomer.tests.sandbox_fixtures",
]
