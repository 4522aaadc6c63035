"""The use cases as a library: validate, plan, apply and import, each a call that takes a request
value and a :class:`~reconciler.usecases.runtime.Runtime`, returns a result value and raises the
errors of errors.py. Nothing here prints, prompts or exits: the CLI (cli/) builds the request
from its flags, calls one of these, renders what it returns and maps it to an exit code.

The modules are imported one by one (this package re-exports nothing), so that ``validate``
loads no HTTP stack: ``reconciler/__init__.py`` is the public surface, and loads each name on
first use.
"""
