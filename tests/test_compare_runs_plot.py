"""compare_runs' plots with five runs whose labels list every differing config value (issue 33): the
legend stays inside the figure and off the curves, the axes keep their width, the "definition
differs" note is clear of the title, a one-point run is drawn, and no layout warning is raised."""

from __future__ import annotations

import warnings

import matplotlib
import pytest
from matplotlib.figure import Figure

from eval.runs.curve_plots import plot_curves

TAG = "loss/style"


@pytest.fixture
def figures(monkeypatch):
    """Every figure plot_curves saves, kept for inspection."""
    saved, savefig = [], Figure.savefig

    def keep(self, *args, **kwargs):
        savefig(self, *args, **kwargs)
        saved.append((self, self.canvas.get_renderer()))  # before plt.close detaches the canvas

    monkeypatch.setattr(Figure, "savefig", keep)
    return saved


def test_five_runs_with_long_labels_and_a_one_point_run(figures, tmp_path):
    matplotlib.use("Agg")
    runs = [f"sweep/run_{k}" for k in range(5)]
    curves = {
        run: {t: [(s, 1.0 / (s + k + 1)) for s in range(0, 50, 5)] for t in (TAG, "loss/content")}
        for k, run in enumerate(runs)
    }
    curves[runs[4]] = {TAG: [(0, 0.5)], "loss/content": [(0, 0.2)]}  # stopped after its first log
    labels = {
        TAG: {
            run: f"{run} (loss.style_loss=mean_std, loss.style_layers=[relu1_1, relu2_1, relu3_1, "
            f"relu4_1], optim.lr={k}e-4, model.transform=adain_soft)"
            for k, run in enumerate(runs)
        }
    }
    caveat = "definition differs between runs: loss.style_loss, loss.style_layers, model.transform"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Tight layout not applied" reached the terminal
        plot_curves(curves, [TAG, "loss/content"], tmp_path, 0.6, True, {TAG: caveat}, labels)
    assert len(figures) == 3  # loss_style.png, loss_content.png, all_tags.png
    for fig, renderer in (figures[0], figures[2]):
        page, ax = fig.bbox, fig.axes[0]
        box = ax.get_window_extent(renderer)
        (legend,) = fig.legends
        assert len(legend.get_texts()) == 5
        spread = legend.get_window_extent(renderer)
        panels = min(3, len([a for a in fig.axes if a.axison]))
        assert box.width > 0.6 * page.width / panels, "the plot is squeezed into a column"
        assert page.x0 <= spread.x0 and spread.x1 <= page.x1 and page.y0 <= spread.y0
        assert spread.y1 <= box.y0, "the legend covers the curves"
        title = ax.title
        (note,) = [t for t in ax.texts if t.get_text().replace("\n", " ") == caveat]
        a, b = title.get_window_extent(renderer), note.get_window_extent(renderer)
        assert not a.overlaps(b), "the note is drawn over the title"
        assert b.y1 <= a.y0 and a.y1 <= page.y1
        single = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
        assert any(line.get_marker() not in (None, "None", "") for line in single)
