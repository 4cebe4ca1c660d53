"""Ring 3: the edges to the outside world (databases, brokers, network data sources)."""
