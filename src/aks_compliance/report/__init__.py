"""Reports built from the results JSON."""
