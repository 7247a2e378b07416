"""Names and identifiers the way Kubernetes makes them, from a seeded RNG.

Example:
    >>> import random
    >>> from labsupport.sim.naming import random_suffix, template_hash, new_uid
    >>> rng = random.Random(0)
    >>> random_suffix(rng)
    'qs2w9'
    >>> template_hash({"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
    '845f7f66f8'
    >>> len(new_uid(rng))
    36
"""

from __future__ import annotations

import json
import random

__all__ = ["random_suffix", "template_hash", "new_uid", "ALPHANUMS"]

# k8s.io/apimachinery/pkg/util/rand: consonants and digits that cannot spell words.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(rng: random.Random, n: int = 5) -> str:
    """The random suffix of generateName (``web-7f9c-`` -> ``web-7f9c-x2kqp``)."""
    # One draw for the whole suffix (uniform over 27**n), read as base-27 digits,
    # least significant first.
    size = len(ALPHANUMS)
    number = rng.randrange(size**n)
    if n == 5:  # the usual length: two table lookups instead of five divisions
        low, high = number % _SIZE3, number // _SIZE3
        return _TRIPLES[low] + _PAIRS[high]
    chars = []
    for _ in range(n):
        number, digit = divmod(number, size)
        chars.append(ALPHANUMS[digit])
    return "".join(chars)


def _digits(number: int, n: int) -> str:
    return "".join(ALPHANUMS[number // len(ALPHANUMS) ** i % len(ALPHANUMS)] for i in range(n))


_SIZE3 = len(ALPHANUMS) ** 3
_TRIPLES = [_digits(i, 3) for i in range(_SIZE3)]
_PAIRS = [_digits(i, 2) for i in range(len(ALPHANUMS) ** 2)]


def _safe_encode(text: str) -> str:
    # rand.SafeEncodeString: each byte mapped onto the alphabet above.
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in text)


def template_hash(template: dict, collision_count: int = 0) -> str:
    """The pod-template-hash label of a pod template (FNV-1a 32 of the template).

    Upstream (pkg/controller/controller_utils.go ComputeHash) hashes the Go
    printing of the template; this hashes its JSON, so values differ from a
    real cluster's but keep their properties: same template, same hash.
    """
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    if collision_count:
        for b in str(collision_count).encode():
            h ^= b
            h = (h * 0x01000193) & 0xFFFFFFFF
    return _safe_encode(str(h))


def new_uid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (deterministic per seed)."""
    # The RFC 4122 version-4 layout (version nibble 4, variant bits 10), without
    # building a uuid.UUID object: 150,000 pods make this a hot path.
    h = "%032x" % ((rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48))
                   | (0x4000 << 64) | (0x8000 << 48))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
