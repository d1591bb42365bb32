"""Reads of the insight dashboards: filters, panels and their sources, pages, drill-downs."""
