"""Credentials in specs and command lines: found by key name, value format or environment.

A spec is written to every run directory (``spec.yaml``, each checkpoint's copy, the wandb
run's config) and the command line to ``meta.json``, so a credential in either would be
copied to disk many times. ``find_secrets`` reports the dotted path of every key or value that
looks like one; ``redact`` masks them in a command line. Neither ever returns the value.

What counts as a credential:

- a key named like ``api_key``, ``token``, ``secret``, ``password``, ``passwd``, ``credential``;
- a value containing a wandb API key (40 hex digits, also inside other text, or ``local-...``),
  an AWS access key id (``AKIA`` + 16, and the other documented prefixes), an AWS secret
  access key (40 characters of ``[A-Za-z0-9/+]`` with upper case, lower case and digits),
  a GitHub token (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_`` + 36) or fine-grained
  token (``github_pat_...``);
- a value containing the value (8 characters or more) of an environment variable whose name
  ends in KEY, TOKEN, SECRET, PASSWORD, PASSWD or CREDENTIAL (an optional S after each).

Why not detect-secrets (on PyPI): its AWS rule finds a secret key only next to the word
"aws" and a quote on the same source line, it has no rule for ``github_pat_`` tokens, and its
API scans files line by line under global settings. The formats above follow its plugins and
GitHub's and AWS's published token formats; tokens are cut out with linear-time patterns
(no backtracking over long strings).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

Problems = list[tuple[str, str]]

SECRET_KEY = re.compile(r"api[_-]?key|token|secret|password|passwd|credential", re.IGNORECASE)
SECRET_ENV_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)S?$", re.IGNORECASE)
MIN_ENV_SECRET = 8

_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9/+]+")
_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a wandb API key", re.compile(r"(?<![A-Za-z0-9])local-[A-Za-z0-9]{12,}|^\s*local-\S+\s*$")),
    (
        "an AWS access key id",
        re.compile(r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[A-Z0-9]{16}"),
    ),
    ("a GitHub token", re.compile(r"(?<![A-Za-z0-9])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}")),
    ("a GitHub token", re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,}")),
)


def _aws_secret(token: str) -> bool:
    return (
        len(token) == 40
        and any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and any(c.isdigit() for c in token)
    )


def _spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of every credential-like part of ``text``."""
    found = [(m.start(), m.end(), kind) for kind, rx in _FORMATS for m in rx.finditer(text)]
    found += [
        (m.start(), m.end(), "a wandb API key (40 hex digits)")
        for m in _HEX.finditer(text)
        if len(m.group()) == 40
    ]
    found += [
        (m.start(), m.end(), "an AWS secret access key")
        for m in _BASE64.finditer(text)
        if _aws_secret(m.group())
    ]
    return sorted(found)


def secret_env_values(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Values of the environment variables whose names look secret (long enough to match)."""
    environ = os.environ if environ is None else environ
    values = {
        value.strip()
        for name, value in environ.items()
        if SECRET_ENV_NAME.search(name) and len(value.strip()) >= MIN_ENV_SECRET
    }
    return tuple(sorted(values))


def value_kind(text: str, known: Iterable[str] = ()) -> str | None:
    """What credential ``text`` looks like or contains (None: nothing found)."""
    spans = _spans(text)
    if spans:
        return spans[0][2]
    if any(len(k) >= MIN_ENV_SECRET and k in text for k in known):
        return "an API key (it contains the value of a secret environment variable)"
    return None


def find_secrets(node: Any, path: str = "", known: Iterable[str] = ()) -> Problems:
    """Paths whose key or value looks like a credential, or contains one of ``known``."""
    known = tuple(known)
    items = node.items() if isinstance(node, dict) else enumerate(node)
    problems: Problems = []
    for key, value in items:
        where = f"{path}.{key}" if path else str(key)
        kind = value_kind(value, known) if isinstance(value, str) else None
        if value_kind(str(key), known):  # the path itself would show it
            problems.append((path or "<top>", "a key looks like a credential (not shown)"))
        elif SECRET_KEY.search(str(key)):
            problems.append((where, "looks like a credential: never put keys or tokens in a spec"))
        elif kind:
            msg = f"value looks like {kind} (not shown): keep credentials in environment variables"
            problems.append((where, msg))
        elif isinstance(value, dict | list):
            problems += find_secrets(value, where, known)
    return problems


def redact(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every credential-like part (and every ``known`` value) masked."""
    out, last = [], 0
    for start, end, _ in _spans(text):
        if start >= last:
            out += [text[last:start], "<redacted>"]
            last = end
    out.append(text[last:])
    text = "".join(out)
    for value in known:
        if len(value) >= MIN_ENV_SECRET:
            text = text.replace(value, "<redacted>")
    return text
