"""Readers of the real data formats, the synthetic face renderer and the one tf.data pipeline.

Nothing here knows about models: readers return validated numpy arrays plus labels or AU vectors and metadata.
"""
