"""Ring 2: one ``Model`` protocol, its families, and probability calibration."""
