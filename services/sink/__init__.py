"""The sink: articles from Kafka into SQLite or PostgreSQL, exactly once."""
