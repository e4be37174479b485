"""wirefeed services: poller, normalizer and sink, and the plumbing they share (``services.core``)."""
