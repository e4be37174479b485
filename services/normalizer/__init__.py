"""The normalizer: raw items in, clean deduplicated articles out."""
