"""Solvers: the grouped problem in, a solution with its certificate out (LP, CP-SAT, heuristics)."""
