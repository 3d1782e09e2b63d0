from ostiary.detection.payload import UNTRUSTED_CLOSE, model_visible, wrap_untrusted


def test_every_text_block_is_wrapped_and_other_fields_are_kept() -> None:
    content = [{"type": "text", "text": "hello"}, {"type": "image", "data": "AAA", "mimeType": "image/png"}]
    wrapped = wrap_untrusted(content, "srv (tools/call)")
    assert wrapped[0]["text"].startswith("[Ostiary: the text below came from srv (tools/call)")
    assert wrapped[0]["text"].endswith("hello" + UNTRUSTED_CLOSE)
    assert wrapped[1] == content[1]


def test_meta_is_neither_wrapped_nor_walked() -> None:
    value = {"_meta": {"text": "x"}, "content": [{"type": "text", "text": "y"}]}
    assert wrap_untrusted(value, "s")["_meta"] == {"text": "x"}
    assert [p for p, _ in model_visible(value)] == ["/content/0/type", "/content/0/text"]
