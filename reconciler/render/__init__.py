"""The only renderer: what each command prints, in each of its forms, pure functions of values.

``views`` holds one view per command (validate, plan, apply, import), each form a class chosen
once from ``--format`` by the one lookup there; the views compose the renderers here and never
each other. ``view.PlanView`` is what every form shows of a plan (built by
usecases/present.py: masked, with its checksum, digest, refusals and requests); ``text`` and
``comment`` are the human forms (``comment``: the pull-request comment, laid out from
``rollup``'s grouping with ``markdown``'s escaping and fitting), ``documents`` every JSON
document, ``problems`` validate's machine forms. Nothing here reads a file, the environment or
the clock, or imports a provider (tests/test_render_pure.py, tests/test_render_views.py).
"""
