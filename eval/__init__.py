"""Offline evaluations of wirefeed components on real data (read from ../shared/corpus)."""
