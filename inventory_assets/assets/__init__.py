"""Software-defined assets: thin wiring around the pure core in ``analytics/`` and ``optimization/``."""
