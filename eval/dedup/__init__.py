"""Near-duplicate story detection, evaluated on a labelled set built from the shared corpus.

``python -m eval.dedup`` builds the set (eval/dedup/corpus.py: natural duplicate groups; variants.py:
seeded syndication variants), prints the threshold sweep, then runs the real DedupStore over the set and
prints pairwise precision and recall for "same story", with every miss.
"""
