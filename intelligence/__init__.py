"""Intelligence pipeline: analysis of resolved conversations and dashboards."""
