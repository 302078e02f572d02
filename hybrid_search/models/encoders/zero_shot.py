"""Tags for an attribute no product in the index has: learned from the names of its values.

A shop whose merchants send titles and photos only has no labels to train a tagger on, but it can
name the values it wants (a vocabulary: ``{"colour": ["Black", "Navy Blue", ...]}``). A product's
title that names exactly one value, word for word in any singular or plural form ("Nike Men Blue
Jersey" names Blue), gets that value as a pseudo-label; a title that names none gets the value
whose name, embedded by the text encoder as a query, is nearest its title's vector by a clear
margin (cosines standardised per value, so a name close to every title wins nothing). The ordinary
tagger (``tagger.fit_tagger``) then learns from those pseudo-labels, photo head included: the
title teaches the photo. Where the titles name an attribute too rarely to learn from (a season, a
usage), there is no tagger: "not sure" is the honest answer. Pure: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from hybrid_search.models.encoders.lexicon import named_values
from hybrid_search.models.encoders.tagger import AttributeTagger, fit_tagger

MARGIN = 1.5  # standardised cosine between the nearest value name and the next, for a title naming none
MIN_COVERAGE = 0.3  # the share of products a vocabulary must pseudo-label for a tagger to learn from it
# the precision the thresholds aim for on the pseudo-labels: they agree with themselves more than
# with the truth, so the target is set above the labelled taggers' 0.9. That margin stands in for the
# labelled taggers' confidence bound (agreement with a proxy is no estimate of precision to bound):
# the observed agreement is what must reach it
TARGET = 0.97


def named_value(title: str, values: Sequence[str]) -> str:
    """The one value the title names (``lexicon.named_values``); '' where it names none or several."""
    named = named_values(title, values)
    return named[0] if len(named) == 1 else ""


def pseudo_labels(
    titles: Sequence[str], values: Sequence[str], title_vectors: np.ndarray, value_vectors: np.ndarray
) -> list[str]:
    """A value per product where its title names one (or its vector is clearly nearest one), else ''."""
    similarity = title_vectors @ value_vectors.T
    spread = similarity.std(axis=0)
    standard = (similarity - similarity.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    ranked = np.sort(standard, axis=1)
    margin = ranked[:, -1] - ranked[:, -2] if len(values) > 1 else np.zeros(len(titles))
    nearest = standard.argmax(axis=1)
    labels = []
    for i, title in enumerate(titles):
        named = named_value(title, values)
        labels.append(named or (values[int(nearest[i])] if margin[i] >= MARGIN else ""))
    return labels


def fit_zero_shot(
    attribute: str,
    values: Sequence[str],
    titles: Sequence[str],
    title_vectors: np.ndarray,
    value_vectors: np.ndarray,
    photos: np.ndarray,
    has_photo: np.ndarray,
    seed: int = 0,
) -> tuple[AttributeTagger, float]:
    """``attribute``'s tagger learned from its value names alone, and the share of products the
    names pseudo-labelled. Raises ValueError where that share is below ``MIN_COVERAGE``."""
    labels = pseudo_labels(titles, values, title_vectors, value_vectors)
    coverage = float(np.mean([bool(label) for label in labels])) if labels else 0.0
    if coverage < MIN_COVERAGE:
        raise ValueError(f"{attribute}: its value names label {coverage:.0%} of the titles, too few to learn from")
    tagger, _ = fit_tagger(attribute, labels, title_vectors, photos, has_photo, TARGET, seed=seed, precision_z=None)
    return replace(tagger, source="zero-shot"), coverage
