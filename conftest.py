"""Project-wide pytest fixtures: the Kustomer sandbox over real HTTP and webhook helpers."""

from kustomer.tests.sandbox_fixtures import *  # noqa: F403
