"""Writes of the classification pipeline, one module per job: classify, route, write back, triage."""
