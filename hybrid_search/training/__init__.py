"""Training: the run that follows uploads (its steps, in order), and the trainers its steps call."""
