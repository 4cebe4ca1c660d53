"""Ring 5: the live driver: the kernel on a live clock, journaled, recoverable and reconciled."""
