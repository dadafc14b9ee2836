"""MkDocs hook: the figures of the plotting functions, drawn as the site builds.

The pages show what ``deepforest.plotting`` draws for a cascade fitted here, on scikit-learn's
breast cancer table, so that a figure on the site is always today's code's, never an image
committed by hand. The files are added to the build (``figures/generated/``), not to docs/.
"""

from __future__ import annotations

import io


def on_files(files, config):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mkdocs.structure.files import File
    from sklearn.datasets import load_breast_cancer

    from deepforest import CascadeForestClassifier
    from deepforest.plotting import plot_contributions, plot_history, plot_importance

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = CascadeForestClassifier(
        n_trees=30, max_layers=6, n_tolerant_rounds=3, n_jobs=2, random_state=0
    ).fit(X, y)
    drawings = {
        "history": lambda: plot_history(model),
        "importance": lambda: plot_importance(model, max_features=10),
        "contributions": lambda: plot_contributions(
            model.explain(X.iloc[:5], background=X), row=0, max_features=8
        ),
    }
    for name, draw in drawings.items():
        figure = draw().figure
        figure.tight_layout()
        image = io.BytesIO()
        figure.savefig(image, format="png", dpi=100)
        plt.close(figure)
        files.append(
            File.generated(config, f"figures/generated/{name}.png", content=image.getvalue())
        )
    return files
