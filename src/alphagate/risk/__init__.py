"""Ring 3: pre-trade limits, drawdown/loss/exposure monitors, correlation breaker, kill switch."""
