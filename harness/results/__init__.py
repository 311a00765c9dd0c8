"""Stored results: the SQLite database (``db``) and the typed records it gives back
(``records``), two runs compared case by case (``compare``), and tidy tables for export
(``export``)."""
