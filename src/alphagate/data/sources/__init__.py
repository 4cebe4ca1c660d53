"""Offline bar sources behind the ``BarSource`` port: bundled, CSV, Parquet and synthetic."""
