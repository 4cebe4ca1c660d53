"""Ring 0: plain values shared by every other ring. No I/O here."""
