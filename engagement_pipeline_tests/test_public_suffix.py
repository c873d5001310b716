"""`public_suffix.split_host` against tldextract itself, configured as the pipeline used it (offline snapshot).

Every rule of the list is tried bare, under one and two more labels, upper-cased and with a trailing dot, and
hosts that stress the edges: wildcards and their exceptions, private-section suffixes (not suffixes here, as
in tldextract's default), IDNs in Unicode and punycode (valid and broken), IPv4/IPv6, ports, userinfo, URL
schemes, Unicode full stops, empty labels.
"""

from __future__ import annotations

import tldextract
from tldextract.suffix_list import PUBLIC_PRIVATE_SUFFIX_SEPARATOR

from engagement_pipeline.matching.domains import parse_domain
from engagement_pipeline.matching.public_suffix import HostParts, snapshot_path, split_host

REFERENCE = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

HOSTILE = [
    "", ".", "..", "com", "co.uk", "bbc.co.uk", "forums.news.bbc.co.uk", "FORUMS.BBC.CO.UK", "bbc.co.uk.",
    "www.example.com", "example.com.", "a..example.com", ".example.com", "example..com", "localhost",
    "intranet.local", "a.b.c.d.e.f.g.example.com.au", "city.kawasaki.jp", "www.city.kawasaki.jp",
    "foo.kawasaki.jp", "a.foo.kawasaki.jp", "www.ck", "foo.ck", "a.foo.ck", "ck", "kobe.jp", "x.kobe.jp",
    "blogspot.com", "me.blogspot.com", "a.me.blogspot.com", "github.io", "user.github.io", "s3.amazonaws.com",
    "bucket.s3.amazonaws.com", "herokuapp.com", "app.herokuapp.com",
    "xn--fiqs8s", "example.xn--fiqs8s", "example.中国", "例子.中国", "www.例子.中国", "xn--fsqu00a.xn--fiqs8s",
    "EXAMPLE.XN--FIQS8S", "bücher.de", "xn--bcher-kva.de", "xn--bcher-kva.xn--bcher-kva.de", "xn--.com",
    "xn--zz.com", "xn--a.xn--", "xn--fiqs8s.", "münchen.de", "example.рф", "пример.рф", "xn--e1afmkfd.xn--p1ai",
    "example。com", "example．co．uk", "example｡com", "example.com。",
    "127.0.0.1", "192.168.001.1", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.com", "10.0.0.1.",
    "[::1]", "[2001:db8::1]", "[2001:db8::1]:8080", "[not-ipv6]", "[::1", "::1", "[]",
    "example.com:8080", "user:pw@example.co.uk:443", "a@b@example.com", "http://example.co.uk/path?q=1#f",
    "https://www.example.com.au", "//example.com/x", "mailto://x.com", "ht tp://example.com", "example.com/a/b",
    "example.com?x", "example.com#x", " example.com ", "exa mple.com", "EU.Acme.COM", "ACME.COM.",
    "com.", "uk.com", "example.uk.com", "gov.uk", "service.gov.uk", "a.service.gov.uk",
    "example.invalidtld", "example.123", "123", "example.-com", "_dmarc.example.com", "*.example.com",
    "!www.ck", "a.*.ck", "example.com\u200b", "ex\u00e4mple.com",
]


def _reference(host: str) -> HostParts:
    result = REFERENCE(host)
    return HostParts(result.subdomain, result.domain, result.suffix)


def _every_rule_of_the_list() -> list[str]:
    text = snapshot_path().read_text(encoding="utf-8")
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            rules.append(line.split()[0])
    assert len(rules) > 5000 and PUBLIC_PRIVATE_SUFFIX_SEPARATOR in text  # the real list, with both sections
    return rules


def test_the_snapshot_is_the_one_tldextract_ships() -> None:
    import pkgutil

    assert snapshot_path().read_bytes() == pkgutil.get_data("tldextract", ".tld_set_snapshot")


def test_split_host_agrees_with_tldextract_on_hostile_hosts() -> None:
    disagreements = {host: (split_host(host), _reference(host)) for host in HOSTILE
                     if split_host(host) != _reference(host)}
    assert not disagreements


def test_split_host_agrees_with_tldextract_on_every_rule_of_the_list() -> None:
    disagreements = {}
    for rule in _every_rule_of_the_list():
        bare = rule.lstrip("!*.")
        for host in (bare, f"acme.{bare}", f"eu.acme.{bare}", f"EU.Acme.{bare.upper()}", f"acme.{bare}.",
                     f"x.y.{bare}", rule):
            ours, theirs = split_host(host), _reference(host)
            if ours != theirs:
                disagreements[host] = (ours, theirs)
    assert not disagreements, list(disagreements.items())[:20]


def test_punycode_and_unicode_forms_of_every_idn_rule_agree() -> None:
    disagreements = {}
    for rule in _every_rule_of_the_list():
        bare = rule.lstrip("!*.")
        if bare.isascii():
            continue
        puny = bare.encode("idna").decode("ascii") if all(bare.split(".")) else bare
        for host in (f"acme.{puny}", f"a.acme.{puny}", f"acme.{puny.upper()}", f"пример.{bare}"):
            ours, theirs = split_host(host), _reference(host)
            if ours != theirs:
                disagreements[host] = (ours, theirs)
    assert not disagreements, list(disagreements.items())[:20]


def test_registrable_domain_of_an_awkward_address() -> None:
    parse_domain.cache_clear()
    assert parse_domain("a.b.Example.CO.UK.").registrable == "example.co.uk"
    assert parse_domain("user.github.io").registrable == "github.io"  # private suffixes are not suffixes here
    assert parse_domain("127.0.0.1").registrable == ""
    assert parse_domain("xn--bcher-kva.de").label == "xn--bcher-kva"


def test_a_domain_lookup_imports_neither_tldextract_nor_requests() -> None:
    """The point of `public_suffix`: a fresh process that parses a domain has not paid for either import."""
    import subprocess
    import sys

    probe = ("import sys; from engagement_pipeline.matching.domains import parse_domain; "
             "assert parse_domain('a.b.example.co.uk').registrable == 'example.co.uk'; "
             "print(sorted(m for m in ('tldextract', 'requests') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
