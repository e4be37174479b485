"""Plumbing shared by every service: settings, logging, metrics and health, Kafka, storage, run loop."""
