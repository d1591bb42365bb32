"""Project-wide pytest fixtures: the Kustomer sandbox and the local Messages API server over real HTTP."""

from bearscope.testing.llm_fixtures import *  # noqa: F403
from kustomer.tests.sandbox_fixtures import *  # noqa: F403
