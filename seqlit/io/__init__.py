"""Bytes in and out: local or fsspec storage, checkpoints loaded safely, predictions written whole."""
