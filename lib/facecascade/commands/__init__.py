"""The mains of the command-line scripts that more than one script or a test runs (each numbered script is a thin entry point over one of these)."""
