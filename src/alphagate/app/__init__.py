"""The composition root: settings to adapters to engine, one module per use case."""
