"""Apply: a Plan's requests sent through providers, lost answers settled, outcomes reported."""
