"""Helpers every room of the package shares: where a name points (Hub id or local path) and the offline switches.

Lower than every room but the model (which ships to the Hub alone and imports nothing of the package); see
ARCHITECTURE.md.
"""
