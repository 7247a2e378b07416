"""json_copy (the fast copy) against json_copy_reference (the readable one)."""

from __future__ import annotations

from collections import OrderedDict

from hypothesis import given
from hypothesis import strategies as st

from labsupport.sim.jsoncopy import json_copy, json_copy_reference

LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                   st.text(max_size=5))
JSON = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=4)),
    max_leaves=30)


def containers(obj, out):
    if isinstance(obj, (dict, list)):
        out.append(obj)
        for v in obj.values() if isinstance(obj, dict) else obj:
            containers(v, out)
    return out


@given(JSON)
def test_fast_copy_equals_the_reference(obj):
    fast, ref = json_copy(obj), json_copy_reference(obj)
    assert fast == ref == obj
    assert list(fast) == list(ref) if isinstance(obj, dict) else True  # key order kept
    # Every dict and list is new (nothing shared with the original); leaves are shared.
    originals = {id(c) for c in containers(obj, [])}
    assert not any(id(c) in originals for c in containers(fast, []))
    assert [type(c) for c in containers(fast, [])] == [type(c) for c in containers(ref, [])]


def test_dict_subclasses_become_plain_dicts_as_in_the_reference():
    obj = {"a": OrderedDict(b=[1, OrderedDict(c=2)])}
    fast, ref = json_copy(obj), json_copy_reference(obj)
    assert fast == ref
    assert type(fast["a"]) is type(ref["a"]) is dict
    assert type(fast["a"]["b"][1]) is dict
    assert type(json_copy(OrderedDict(x=1))) is dict
