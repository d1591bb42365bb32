"""Template filters of the Kustomer mirror."""
