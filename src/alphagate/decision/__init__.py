"""Ring 3: the decision path from model predictions to a horizon, a weight and its protection."""
