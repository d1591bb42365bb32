"""Auto-reply pipeline: guarded template replies for whitelisted intents."""
