"""Tools for course authors: notebooks written as text, built and checked by one command.

Every lesson and reference solution is a MyST Markdown file paired by jupytext
with the ``.ipynb`` students open. ``make notebooks`` (this package's
:func:`~labsupport.authoring.build.build`) writes the notebooks, keeps the
outputs nbval checks, and regenerates ``exercises/``; ``make lesson`` (its
:func:`~labsupport.authoring.scaffold.new_lesson`) starts a new lesson. The
guide is ``docs/AUTHORING.md``.

Nothing here is loaded by ``import labsupport``; students never need it.
"""

from __future__ import annotations

__all__: list[str] = []
