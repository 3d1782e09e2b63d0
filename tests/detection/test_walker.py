from ostiary.detection.walker import Budget, Walk, strings


def test_walk_yields_every_string_with_its_json_pointer_including_object_keys() -> None:
    value = {"a": ["x", {"b": "y"}], "n": 3}
    assert strings(value) == [
        ("/a#key", "a"),
        ("/a/0", "x"),
        ("/a/1/b#key", "b"),
        ("/a/1/b", "y"),
        ("/n#key", "n"),
    ]


def test_pointer_tokens_escape_slash_and_tilde() -> None:
    assert strings({"a/b~c": "v"}, budget=None)[1] == ("/a~1b~0c", "v")


def test_keys_can_be_left_out() -> None:
    assert list(Walk({"k": "v"}, keys=False)) == [("/k", "v")]


def test_the_character_budget_stops_the_walk_and_says_so() -> None:
    walk = Walk(["a" * 10, "b" * 10, "c" * 10], budget=Budget(chars=25))
    assert [text[0] for _, text in walk] == ["a", "b"]
    assert walk.truncated


def test_a_very_deep_value_stops_at_the_depth_budget_without_recursing() -> None:
    value: object = "deep"
    for _ in range(100_000):
        value = [value]
    walk = Walk(value, budget=Budget(depth=64))
    assert list(walk) == []
    assert walk.truncated
