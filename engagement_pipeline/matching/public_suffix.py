"""Splits a host into subdomain, domain and public suffix with tldextract's bundled Public Suffix List snapshot.

Why not `tldextract.TLDExtract` itself: importing tldextract imports `requests` (for fetching a fresher list,
which the pipeline never does: it runs offline and a changing list would make the same file match differently
on two days), and its first lookup builds two suffix tries of objects (with and without the list's private
section). Together ~0.1 CPU-second of every CLI run, for a lookup that needs neither. This module reads the
same snapshot file from tldextract's installed package directory without importing the package, keeps only the
public (ICANN) section as tldextract does with `include_psl_private_domains=False`, and walks the same trie with
the same rules (longest match, `*` wildcards, `!` exceptions, punycode labels decoded, IPv4 and bracketed IPv6
hosts kept whole, the host cut out of a URL-like string as `lenient_netloc` does).
`test_public_suffix.py` compares every result with tldextract's on every suffix of the list and hostile hosts.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from ipaddress import AddressValueError, IPv6Address
from pathlib import Path
from typing import NamedTuple
from urllib.parse import scheme_chars

# tldextract's own patterns (tldextract/suffix_list.py and remote.py), so the list and hosts read the same way.
_SUFFIX_RE = re.compile(r"^(?P<suffix>[.*!]*\w[\S]*)", re.UNICODE | re.MULTILINE)
_PRIVATE_SECTION = "// ===BEGIN PRIVATE DOMAINS==="
_IPV4_RE = re.compile(
    r"^(?:(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.)"
    r"{3}(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])$",
    re.ASCII,
)
_SCHEME_CHARS = frozenset(scheme_chars)
_END = ""  # key marking "a suffix ends here" in a trie node; no label of a split host is matched against it


class HostParts(NamedTuple):
    """tldextract's `ExtractResult` fields the pipeline uses: forums.bbc.co.uk -> ('forums', 'bbc', 'co.uk')."""

    subdomain: str
    domain: str
    suffix: str


def snapshot_path() -> Path:
    """The suffix list file tldextract ships; found without importing tldextract (which imports requests)."""
    spec = importlib.util.find_spec("tldextract")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("tldextract is not installed: its bundled Public Suffix List is needed")
    return Path(next(iter(spec.submodule_search_locations))) / ".tld_set_snapshot"


@cache
def _public_suffix_trie() -> dict:
    """Labels in reverse order, nested; `_END` in a node means the labels down to it form a public suffix."""
    public_text = snapshot_path().read_text(encoding="utf-8").partition(_PRIVATE_SECTION)[0]
    root: dict = {}
    for match in _SUFFIX_RE.finditer(public_text):
        node = root
        for label in reversed(match.group("suffix").split(".")):
            node = node.setdefault(label, {})
        node[_END] = True
    return root


def _decode_punycode(label: str) -> str:
    lowered = label.lower()
    if lowered.startswith("xn--"):
        import idna  # only for punycode labels; tldextract decodes them with it too

        try:
            return idna.decode(lowered)
        except (UnicodeError, IndexError):
            pass
    return lowered


def _schemeless(url: str) -> str:
    double_slashes_start = url.find("//")
    if double_slashes_start == 0:
        return url[2:]
    if (
        double_slashes_start < 2
        or url[double_slashes_start - 1] != ":"
        or set(url[: double_slashes_start - 1]) - _SCHEME_CHARS
    ):
        return url
    return url[double_slashes_start + 2:]


def _host(url: str) -> str:
    """The case-preserved host of a URL-like string, without userinfo, port or root label (`lenient_netloc`)."""
    authority = _schemeless(url).partition("/")[0].partition("?")[0].partition("#")[0]
    after_userinfo = authority.rpartition("@")[-1]
    if after_userinfo and after_userinfo[0] == "[":
        maybe_ipv6 = after_userinfo.partition("]")
        if maybe_ipv6[1] == "]":
            return f"{maybe_ipv6[0]}]"
    return after_userinfo.partition(":")[0].strip().rstrip(".\u3002\uff0e\uff61")


def _is_ipv6(text: str) -> bool:
    try:
        IPv6Address(text)
    except AddressValueError:
        return False
    return True


def _suffix_start(labels: list[str]) -> int | None:
    """Index of the first label of the longest public suffix of `labels`; None when no suffix matches."""
    node = _public_suffix_trie()
    suffix_idx = label_idx = len(labels)
    for label in reversed(labels):
        decoded = _decode_punycode(label)
        if decoded in node and decoded != _END:
            label_idx -= 1
            node = node[decoded]
            if _END in node:
                suffix_idx = label_idx
            continue
        if "*" in node:
            return label_idx if "!" + decoded in node else label_idx - 1
        break
    return None if suffix_idx == len(labels) else suffix_idx


def split_host(url: str) -> HostParts:
    """What `tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)(url)` gives, without private suffixes."""
    host = _host(url).replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")
    if len(host) >= 4 and host[0] == "[" and host[-1] == "]" and _is_ipv6(host[1:-1]):
        return HostParts("", host, "")
    labels = host.split(".")
    start = _suffix_start(labels)
    if start is None:
        if len(labels) == 4 and host[0].isdecimal() and _IPV4_RE.fullmatch(host):
            return HostParts("", host, "")
        return HostParts(".".join(labels[:-1]), labels[-1], "")
    subdomain = ".".join(labels[: start - 1]) if start >= 2 else ""
    domain = labels[start - 1] if start > 0 else ""
    return HostParts(subdomain, domain, ".".join(labels[start:]))
