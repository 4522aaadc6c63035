"""Plan: declarations and live users in, an immutable Plan value out (diff, guards, masking,
saved plans)."""
