"""Apply: a checked Plan's actions sent through providers, lost answers settled, outcomes reported.

``applier`` sends each target's upserts, then its deletions (``concurrency.fan_out``) and
collects one outcome per user (``planned.UserOutcome``); ``verify`` reads back what stuck;
``lostwrite`` settles a lost answer (the one resend policy, barriers on Sprig); ``polling``
is the one pace at which both look at a target again; ``progress`` draws the line on stderr.
``evidence`` sends a user's events only with evidence that no earlier write of them is on its
way (the write-ahead record, load/journal.py, or a barrier); ``records`` opens the targets'
records for one run and ``lock`` keeps it the only apply of each of its targets.
``engine`` is the run up to the plan (load, select, open the providers, plan); the guards
that a plan must pass before anything is sent sit beside the Plan, in ``plan/guards.py``.
"""
