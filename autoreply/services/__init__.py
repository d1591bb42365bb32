"""Writes of the auto-reply pipeline, one module per job: decide, deliver once, escalate, review and modes."""
