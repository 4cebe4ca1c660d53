"""Performance metrics and their annualisation, one set of numbers for every judge."""
