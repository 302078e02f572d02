"""Encoders: each loads once per process and maps a batch to an L2-normalised float32 array."""
