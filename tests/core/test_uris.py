"""Canonical resource URIs: every spelling of one file is one URI, and what cannot be parsed is
refused rather than guessed at."""

from __future__ import annotations

import pytest

from ostiary.uris import UriError, canonical_uri, remove_dot_segments


@pytest.mark.parametrize(
    "spelling",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "File:///etc/passwd",
        "file://localhost/etc/passwd",
        "file://LocalHost/etc/passwd",
        "file:////etc/passwd",
        "file:///etc//passwd",
        "file:///%65tc/passwd",
        "file:///%65%74%63/%70asswd",
        "file:///./etc/passwd",
        "file:/etc/passwd",
        "file:///srv/data/../../etc/passwd",
        "file:///srv/%2e%2E/etc/passwd",
        "file:///../../etc/passwd",
    ],
)
def test_every_spelling_of_one_file_has_one_canonical_form(spelling: str) -> None:
    assert canonical_uri(spelling) == "file:///etc/passwd"


def test_scheme_and_host_are_lower_cased_and_other_escapes_upper_cased() -> None:
    assert canonical_uri("HTTPS://Example.COM/a%2fb/%7euser?q=%3d") == "https://example.com/a%2Fb/~user?q=%3D"


def test_path_case_and_reserved_escapes_are_kept() -> None:
    assert canonical_uri("demo://resource/Static/My%20Doc") == "demo://resource/Static/My%20Doc"
    assert canonical_uri("note://café/ü?q=✓") == "note://café/ü?q=✓"


@pytest.mark.parametrize(
    "broken",
    [
        "",
        "no-scheme",
        "/etc/passwd",
        "file:///a b",
        "file:///%zz",
        "file:///50%",
        "file:///etc%2Fpasswd",
        "file:///etc/passwd%00.txt",
        "file://evil.example/etc/passwd",
        "file:relative/path",
        "file:///{path}",
        "x:" + "a" * 9000,
    ],
)
def test_what_cannot_be_parsed_is_refused(broken: str) -> None:
    with pytest.raises(UriError):
        canonical_uri(broken)


def test_a_template_may_carry_expressions() -> None:
    assert canonical_uri("FILE:///%65tc/{name}", template=True) == "file:///etc/{name}"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/b/c/./../../g", "/a/g"),  # RFC 3986 section 5.2.4's own example
        ("mid/content=5/../6", "mid/6"),
        ("/a/..", "/"),
        ("/a/.", "/a/"),
        ("/..", "/"),
    ],
)
def test_dot_segments_are_removed_as_rfc_3986_says(path: str, expected: str) -> None:
    assert remove_dot_segments(path) == expected
