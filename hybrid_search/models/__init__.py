"""Models: the encoders, the model sets an index records, and the live models the query side follows."""
