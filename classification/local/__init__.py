"""The local classifier tier: a small scikit-learn model trained on the team's own labelled messages."""
