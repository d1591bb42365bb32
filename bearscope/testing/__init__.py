"""Test doubles that run over real HTTP: a local stand-in for Anthropic's Messages API."""
