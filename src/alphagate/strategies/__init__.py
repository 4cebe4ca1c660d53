"""Strategies: the rule-based built-ins and the model strategy that drives the decision path."""
