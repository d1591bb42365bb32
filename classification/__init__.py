"""Classification pipeline: intent, priority and complexity for every new conversation."""
