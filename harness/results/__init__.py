"""Stored results: the SQLite database (``db``), two runs compared case by case
(``compare``), and tidy tables for export (``export``)."""
