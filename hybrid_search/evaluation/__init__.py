"""Relevance evaluation: judgments, metrics, tuning and reports."""
