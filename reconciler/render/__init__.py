"""The only renderer: plan and apply, each as text, Markdown and JSON, pure functions of values.

``view.PlanView`` is what every format shows of a plan (built by usecases/present.py: masked,
with its checksum, digest, refusals and requests); ``output`` is the entry the CLI renders by,
``text`` and ``comment`` the human formats (``comment``: the pull-request comment, laid out from
``rollup``'s grouping with ``markdown``'s escaping and fitting), ``documents`` every JSON
document, ``problems`` validate's machine formats. Nothing here reads a file, the environment
or the clock, or imports a provider (tests/test_render_pure.py).
"""
