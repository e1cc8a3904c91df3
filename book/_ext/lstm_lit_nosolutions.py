"""The solutions-free edition: loaded only by `make book-nosolutions` (tools/book_nosolutions.py).

sphinx-exercise's `hide_solutions = True` drops every `solution` directive, but for a gated
solution (`solution-start` ... `solution-end`, with the notebook's code cells between) it drops
only the `solution-start` line: the cells between, the solution's code and its outputs, would
still be printed under the exercise, and the unmatched `solution-end` node stops the HTML
writer ("departing unknown node type: solution_end_node", sphinx-exercise 1.2.1). Here `solution-start` leaves a marker, and a transform
removes everything from the marker to its `solution-end`; a marker without its end in the same
parent stops the build (nothing is published half-hidden).
"""

from __future__ import annotations

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node


class hidden_solution_start(nodes.Element):
    """Where a gated solution began; removed, with what follows up to its end, before writing."""


class HiddenSolutionStart(SolutionStartDirective):
    def run(self):
        out = super().run()  # registers the gated pair; [] when hide_solutions
        if self.env.app.config.hide_solutions:
            return [hidden_solution_start(label=self.arguments[0])]
        return out


class RemoveGatedSolutions(SphinxTransform):
    default_priority = 5  # before sphinx-exercise merges gated directives (priority 10)

    def apply(self):
        for marker in list(self.document.findall(hidden_solution_start)):
            parent = marker.parent
            start = parent.index(marker)
            for stop in range(start + 1, len(parent.children)):
                if isinstance(parent.children[stop], solution_end_node):
                    break
            else:
                raise ExtensionError(
                    f"{self.env.docname}: solution-start {marker['label']} has no solution-end "
                    "in the same section; cannot hide it")
            for child in parent.children[start: stop + 1]:
                parent.remove(child)


def setup(app):
    app.add_node(hidden_solution_start)
    app.add_directive("solution-start", HiddenSolutionStart, override=True)
    app.add_transform(RemoveGatedSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
