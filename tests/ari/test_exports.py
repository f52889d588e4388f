import ivrkit.ari


def test_all_is_sorted_and_matches_public_names() -> None:
    public = {
        name
        for name in dir(ivrkit.ari)
        if not name.startswith("_") and not isinstance(getattr(ivrkit.ari, name), type(ivrkit))
    }
    assert ivrkit.ari.__all__ == sorted(ivrkit.ari.__all__)
    assert set(ivrkit.ari.__all__) == public


def test_module_is_rewritten() -> None:
    for name in ivrkit.ari.__all__:
        assert getattr(ivrkit.ari, name).__module__ == "ivrkit.ari", name
