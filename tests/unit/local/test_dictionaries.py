from hybrid_search.local.dictionaries import freedict_packages


def test_packages_are_each_languages_dictionary_the_english_headwords_and_the_pivots_through_german():
    assert freedict_packages(("spa", "jpn")) == [
        "dict-freedict-spa-eng",
        "dict-freedict-jpn-eng",
        "dict-freedict-eng-deu",
        "dict-freedict-spa-deu",  # Spanish reaches English through German's dictionary too
        "dict-freedict-deu-spa",
    ]
