"""Ring 1: load, validate, resample and store bars (network sources live in ``adapters``)."""
