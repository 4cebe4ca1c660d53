"""Ring 2: how models are fitted and validated without leaking the future into the past."""
