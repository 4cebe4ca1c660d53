"""Ring 1: what a model is asked to predict, and when each answer becomes known."""
