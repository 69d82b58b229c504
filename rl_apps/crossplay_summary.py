"""Summaries of a two-sided ``marl crossplay`` matrix: checkpoints grouped by their spec.

A benchmark's seeds share a spec name (``maddpg_adversary`` seeds 0-2), so the matrix's
cells group into blocks, one per pair of spec names (for example ensemble adversaries
against single-policy agents). ``blocks`` averages every side's return and every task
metric over a block's cells and gives the spread across them: the paper's comparison of
ensembles and single policies against changed opponents, without reading a 6 x 6 table.
Pure functions on the JSON report; no Ray, no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def checkpoint_label(spec_name: str, seed: int) -> str:
    """How a checkpoint appears in the matrix: its spec's name and seed."""
    return f"{spec_name} seed {seed}"


def blocks(
    matrix: dict[str, Any], rows: list[str], cols: list[str], values: list[str]
) -> list[dict[str, Any]]:
    """Per (row spec, column spec): mean, std and cell count of each of ``values``.

    ``matrix`` is a crossplay report's ``matrix``; ``rows`` and ``cols`` are the spec names
    of its rows' and columns' checkpoints; ``values`` names its per-cell tables (each side's
    return, the task metrics). Cells whose value is None (a metric an env lacks) are left
    out of that value's mean.
    """
    out = []
    for row_spec in dict.fromkeys(rows):
        for col_spec in dict.fromkeys(cols):
            cells = [
                (i, j)
                for i, r in enumerate(rows)
                for j, c in enumerate(cols)
                if (r, c) == (row_spec, col_spec)
            ]
            block: dict[str, Any] = {"rows": row_spec, "columns": col_spec, "cells": len(cells)}
            for key in values:
                found = [matrix[key][i][j] for i, j in cells if matrix[key][i][j] is not None]
                if found:
                    block[key] = {"mean": float(np.mean(found)), "std": float(np.std(found))}
            out.append(block)
    return out
