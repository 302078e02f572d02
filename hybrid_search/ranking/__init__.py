"""Pure ranking math: normalisation, combination, per-user rerank, explanations. No I/O."""
