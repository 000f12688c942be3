"""Evaluation metrics for sequence tagging."""

from seqlit.metrics.span_f1 import SpanF1, bio_spans, count_invalid_bio, to_iob2

__all__ = ["SpanF1", "bio_spans", "count_invalid_bio", "to_iob2"]
