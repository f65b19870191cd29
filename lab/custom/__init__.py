"""Probes a user writes: a mapping and an input generator, run only in the sandbox."""
