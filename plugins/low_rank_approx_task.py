"""Placeholder: filled in by the issue-5 work (sketches and spectral filters)."""
