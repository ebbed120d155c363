"""Pinned node outputs (built by the pin-data feature)."""
