"""Ring 5: seeded economic scenarios and the stress runner."""
