from hybrid_search.stores.redis import keys


def test_each_family_of_keys_has_a_name_of_its_own():
    names = [
        *keys.user_keys("p", "t", "u"),
        keys.query_key("p", "q"),
        keys.features_key("p", "q"),
        keys.scroll_key("p", "q"),
        keys.rate_key("p", "q", 1),
        keys.runs_key("p"),
        keys.session_key("p", "q"),
        keys.query_photo_key("p", "q"),
        keys.training_key("p", "q"),
    ]
    assert len(set(names)) == len(names)
    assert all("p" in name.split(":") for name in names)


def test_ids_a_caller_chooses_are_hashed_into_their_keys():
    # a scroll id or a session id with ':' in it cannot reach into another family's keys
    for key in (keys.scroll_key("p", "x:rate:y"), keys.session_key("p", "x:rate:y")):
        assert "x:rate" not in key and len(key.rsplit(":", 1)[1]) == 64


def test_a_query_texts_features_key_ignores_case_and_spacing():
    assert keys.features_key("p", "Black  Shoes ") == keys.features_key("p", "black shoes")
    assert keys.features_key("p", "black shoes") != keys.features_key("p", "blue shoes")


def test_users_of_two_tenants_never_share_a_key():
    assert not set(keys.user_keys("p", "a", "b:c")) & set(keys.user_keys("p", "a:b", "c"))
