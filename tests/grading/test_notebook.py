from __future__ import annotations

import json

import pytest

from labsupport.grading.notebook import NotebookError, load_notebook, parse_notebook, python_source


def _nb(cells, **extra):
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, **extra}).encode()


@pytest.mark.parametrize("data, problem", [
    (b"", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not text"),
    (b"print('hello')", r"not valid JSON \(line 1"),
    (b'{"cells": [', "not valid JSON"),
    (b"[1, 2, 3]", "not a Jupyter notebook"),
    (b'{"hello": "world"}', "not a Jupyter notebook"),
    (b'{"cells": [], "nbformat": 3}', "old notebook format"),
    (_nb([]), "the notebook is empty"),
    (_nb([{"cell_type": "markdown", "source": "# only words"},
          {"cell_type": "code", "source": "   \n"}]), "the notebook is empty"),
    (_nb([42]), "cell 1 is damaged"),
    (_nb([{"cell_type": "code", "source": 42}]), "cell 1 is damaged"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_bad_files_get_a_message_a_learner_can_act_on(data, problem):
    with pytest.raises(NotebookError, match=problem):
        parse_notebook(data)


def test_a_good_notebook_parses_with_a_byte_order_mark_and_list_sources():
    nb = parse_notebook(b"\xef\xbb\xbf" + _nb([{"cell_type": "code", "source": ["a = 1\n", "b"],
                                                 "metadata": {"labsupport": {"answer": ["a"]}}}]))
    cell = nb.code_cells()[0]
    assert cell.source == "a = 1\nb" and cell.answers == ["a"] and cell.index == 1
    assert nb.answer_cells("a") == [cell]


def test_huge_files_are_refused_before_reading(tmp_path):
    big = tmp_path / "big.ipynb"
    with open(big, "wb") as fh:
        fh.truncate(25 * 2**20)
    with pytest.raises(NotebookError, match="25 MB"):
        load_notebook(big)
    with pytest.raises(NotebookError, match="cannot read"):
        load_notebook(tmp_path / "missing.ipynb")


def test_ipython_syntax_becomes_plain_python():
    src = "%matplotlib inline\n!pip install x\nx = 5  # 100%\nif x:\n    %time y = 1\nprint(x)"
    out = python_source(src)
    compile(out, "cell", "exec")
    assert "x = 5  # 100%" in out and "print(x)" in out
    assert out.count("pass  # skipped by the grader") == 3
    assert python_source("%%capture\nz = 1").endswith("z = 1")
    assert python_source("%%html\n<b>hi</b>").startswith("pass")
