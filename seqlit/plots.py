"""Figures shared by callbacks, benchmarks and the README.

Built as `matplotlib.figure.Figure` objects, never through pyplot, so they render headless without
`matplotlib.use`, which would switch the backend of a notebook or program that imports seqlit.
"""

from __future__ import annotations

from matplotlib.figure import Figure


def gradient_flow_figure(curves: dict, ax=None):
    """‖∂L/∂a<t>‖ against t, one line per curve, log scale: vanishing shows as a slope."""
    fig = None
    if ax is None:
        fig = Figure(figsize=(6, 3.5))
        ax = fig.subplots()
    for label, norms in curves.items():
        ax.semilogy(range(1, len(norms) + 1), [float(v) for v in norms], label=label)
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖∂L/∂a<t>‖ (batch mean)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig if fig is not None else ax.figure
