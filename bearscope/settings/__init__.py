"""Settings package: base, local (default), production and test."""
