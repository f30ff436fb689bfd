"""Build the example student notebooks used to exercise the grader end to end.

Run `python submissions/build.py`: it writes, next to this file,

Lab 9 (Convolutional Neural Networks), from seeds/000_f1c1e19f97460414.txt:
  alice.ipynb         fully correct
  handout_lab9.ipynb  the handout's own answers verbatim, mistakes included (1.4 uses `model12`,
                      2.1 scales by abs(X).max(), the 2.2 training loop rebinds X and y)
  bob.ipynb           never builds the 4-filter model: trains and plots only the 3-filter one
  carol.ipynb         like alice, but both 1.3 training loops use lr=0.5
  dan.ipynb           odd but correct: 4 filters already in 1.2, other names, nn.Module in 2.2

hw2 (PCA, KNN, softmax regression, CNN), from seeds/001_e0e9727db1316194.txt, in hw2/:
  erin.ipynb          fully correct
  handout_hw2.ipynb   the handout's own answers verbatim (KNN's `m[0]` raises IndexError on
                      scipy >= 1.11, J has no log, softmax modifies its input, no misclassified plot,
                      deprecated `mnist.train_data`)

Every notebook keeps the handout's structure: its heading cells (one heading per markdown cell),
its prose (abridged), its given helper and check cells. Notebooks are saved without outputs and
with deterministic cell ids, so rebuilding gives byte-identical files.

The notebooks expect the grader's data in their working directory: `mnist_train.npz` /
`mnist_test.npz` (Lab 9) or torchvision's `MNIST/raw/` (hw2). Nothing hard-codes a data size except
the handout's own Lab 9 2.1 check cell (60000/10000), which fails on smaller data by design.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

MD = "markdown"
CODE = "code"
OMIT = None  # an answer slot a student left out entirely


def _clean(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def build_notebook(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A v4 notebook (python3 kernel) from (kind, source) pairs; cell ids are `<name>-<index>`."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for index, (kind, source) in enumerate(cells):
        make = new_markdown_cell if kind == MD else new_code_cell
        cell = make(_clean(source))
        cell["id"] = f"{name.replace('_', '-')}-{index:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def write_notebook(path: Path, name: str, cells: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build_notebook(name, cells), str(path))
    return path


# =============================================================================================
# Lab 9 - Convolutional Neural Networks
# =============================================================================================

LAB9_IMPORTS = r'''
import numpy as np
import matplotlib.pyplot as plt
import torch
import copy
np.set_printoptions(precision=3, suppress=True) # Print as 0.001 instead of 9.876e-4
torch.set_printoptions(precision=3, sci_mode=False)
from sklearn.preprocessing import MinMaxScaler
from IPython.core.display import HTML
HTML("""
<style>
.output_png {
    display: table-cell;
    text-align: center;
    vertical-align: middle;
}
</style>
""")
'''

PLOT_MATRIX_GRID = r'''
def plot_matrix_grid(V, cmap='bwr'):
    """
    Given an array V containing stacked matrices, plots them in a grid layout.
    V should have shape (K,M,N) where V[k] is a matrix of shape (M,N).
    The default cmap is "bwr" (blue-white-red) but can also be "gray".
    """
    if isinstance(V, torch.Tensor):
        V = V.detach().numpy()
    assert V.ndim == 3, "Expected V to have 3 dimensions, not %d" % V.ndim
    k, m, n = V.shape
    ncol = 8                                # At most 8 columns
    nrow = min(4, (k + ncol - 1) // ncol)   # At most 4 rows
    V = V[:nrow*ncol]                       # Focus on just the matrices we'll actually plot
    figsize = (2*ncol, max(1, 2*nrow*(m/n))) # Guess a good figure shape based on ncol, nrow
    fig, axes = plt.subplots(nrow, ncol, sharex=True, sharey=True, figsize=figsize)
    vmax = np.percentile(np.abs(V), [99.9]) # Show the main range of values, between 0.1%-99.9%
    for v, ax in zip(V, axes.flat):
        img = ax.matshow(v, vmin=-vmax, vmax=vmax, cmap=plt.get_cmap(cmap))
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(V):]:
        ax.set_axis_off()
    fig.colorbar(img, cax=fig.add_axes([0.92, 0.25, 0.01, .5])) # Add a colorbar on the right
'''

PLOT_NAMED_TENSORS = r'''
def plot_named_tensors(tensor_dict):
    """
    Given a dict of {name: tensor} pairs, plots the tensors side-by-side in a common
    color scale. The name of each tensor is shown above its plot.
    """
    n = len(tensor_dict)
    vmax = max(v.abs().max() for v in tensor_dict.values())
    figsize = (2*n, 6)
    fig, axes = plt.subplots(1, n, figsize=figsize, constrained_layout=True, squeeze=True)
    axes = axes.flat if isinstance(axes, np.ndarray) else (axes,)
    for (name, v), ax in zip(tensor_dict.items(), axes):
        v = torch.squeeze(v.detach()) # Automatically convert (N,1,D) to (N,D)
        if v.ndim == 1:
            v = v.view(-1, 1) # Automatically convert (N,) to (N,1)
        assert v.ndim == 2, "couldn't turn tensors[%d] with shape %s into 2D" % (i, v.shape)
        img = ax.matshow(v, vmin=-vmax, vmax=vmax, cmap=plt.get_cmap('bwr'))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name)
    fig.colorbar(img, cax=fig.add_axes([0.985, 0.25, 0.03, .5])) # Add a colorbar on the right
'''

LAB9_PLOT_TRAINING_SET = """
plot_named_tensors({'x': X, 'y': y})
"""

LAB9_CHECK_12 = """
assert len(model) == 5, "Should be 5 layers!"
assert isinstance(model[0], torch.nn.Conv1d), "layer 0 should be Conv1d"
assert model[0].in_channels == C, "layer 0 should expect C input channel"
assert model[0].out_channels == num_filter, "layer 0 should expect %d output channels" % num_filter
assert model[0].kernel_size[0] == filter_size, "layer 0 filter size should be %d" % filter_size
assert model[0].padding[0] == filter_size//2
assert isinstance(model[1], torch.nn.ReLU), "layer 1 should be ReLU"
assert isinstance(model[2], torch.nn.MaxPool1d), "layer 2 should be MaxPool1d"
assert model[2].kernel_size == W, "layer 2 should pool over the entire input feature map"
assert isinstance(model[3], torch.nn.Flatten), "layer 3 should be Flatten"
assert isinstance(model[4], torch.nn.Linear), "layer 4 should be Linear"
assert model[4].in_features == num_filter, "layer 4 should have accepted %d inputs" % num_filter
assert model[4].out_features == 1, "layer 4 should have only 1 output"
print("Looks OK!")
"""

LAB9_INITIAL_PREDICTIONS = r"""
y_pred = torch.sigmoid(model(X))  # Turn activations into probabilities by feeding through sigmoid
print(y_pred[:5])                # Print the first few probabilities
plot_named_tensors({'X': X, '$\hat{y}$': y_pred, 'y': y})
"""

LAB9_COPY_UNTRAINED = """
untrained_model = copy.deepcopy(model)
"""

LAB9_CHECK_21 = """
assert isinstance(X_trn, torch.FloatTensor), "Features should be float32!"
assert isinstance(y_trn, torch.LongTensor), "Targets should be int64 or long!"
assert X_trn.shape == (60000, 1, 28, 28), "X_trn has wrong shape"
assert y_trn.shape == (60000,), "y_trn has wrong shape"
assert X_tst.shape == (10000, 1, 28, 28), "X_tst has wrong shape"
assert y_tst.shape == (10000,), "y_tst has wrong shape"
assert X_trn.min() == 0 and X_trn.max() == 1, "Features don't seem to be scaled right!"
print("Looks good!")
"""

LAB9_CHECK_22 = """
y_pred = model(X_trn[:5]) # Check model architecture by trying to feed inputs through it.
assert y_pred.shape == (5, 10), "Expected a batch of 5 images to produce output of shape (5, 10)"
"""

LAB9_INITIAL_MNIST_PREDICTIONS = r"""
# Feed the model's predictions on 30 training cases through a row-wise softmax.
y_pred = torch.softmax(model(X_trn[:50]), dim=1)

# Convert the first 30 training targets from index format {0,...,9} to a 1-hot format,
# for easier side-by-side comparison with the 10-dimensional output prediction.
y_true = torch.zeros((50, 10))
y_true[torch.arange(50), y_trn[:50]] = 1

plot_named_tensors({' $\hat{y}$ ': y_pred, '$y$': y_true})
"""

# --- Lab 9 prose (abridged from the handout) ------------------------------------------------

LAB9_MD = {
    "title": "# Lab 9 - Convolutional Neural Networks",
    "intro": """
        In this lab you'll use [PyTorch](https://pytorch.org/) to:

        - train a *convolutional neural network* (CNN, or ConvNet) on 1D synthetic data and on 2D
          real data;
        - learn how to inspect the filters and the feature maps of your model, to ensure you
          understand the inner workings (intermediate representations) that are computed during the
          feed-forward computation of a ConvNet;
        - learn how a ConvNet training can get stuck in a local minimum, and how increasing the
          number of filters helps.

        Run the code cell below to import the required packages.
        """,
    "plot_grid": """
        Run the code cell below to define a plotting function that is useful for visualizing the
        weights of neural networks and images.
        """,
    "part1": "# 1. Convolutional Neural Networks on Synthetic Data",
    "part1_intro": """
        Exercise 1.1–1.4 ask you to generate a synthetic data set and to inspect how a 1D
        convolutional neural network learns "pattern detectors" on it. Building a toy synthetic
        dataset is good practice when sanity-checking a model that you have never worked with. It
        will be easy to plot all the features, targets, and predictions all at once.

        Run the code cell below to define a function that will be able to plot your synthetic
        training set.
        """,
    "ex11": "## Exercise 1.1 – Build a synthetic 1D data set",
    "ex11_text": r"""
        Start by building a synthetic training set $\{(\mathbf{x}_i, y_i)\}_{i=1}^N$, where the goal
        is to "detect pattern $[0, 1, 0]$ in the input".

        - Each input $\mathbf{x}_i \in \mathbb{R}^{20}$ represents a single-channel 'image' of width
          $W = 20$ having values from $\{-1, -\frac{1}{2}, 0, \frac{1}{2}, 1\}$.
        - Each target $y_i \in \{0, 1\}$ represents a class label, with $y_i = 1$ if the subsequence
          $[0, 1, 0]$ appears somewhere in $\mathbf{x}_i$.
        - The dataset should have $N = 75$ items.

        Represent the inputs in a single tensor in "(N, C, W) format", $\mathbf{X} \in
        \mathbb{R}^{75 \times 1 \times 20}$, and the targets as $\mathbf{y} \in \mathbb{R}^{75 \times
        1}$. Use `np.random.randint` and `np.random.choice`; note that `randint(a,b)` returns an
        integer strictly less than $b$.

        Specific steps to build $\mathbf{X}$ and $\mathbf{y}$:

        1. Create $\mathbf{X}$ and $\mathbf{y}$ as torch tensors full of zeros.
        2. For each row $i = 0, \dots, N - 1$:
           - A. Sample a random integer size $\in \{1, 2\}$.
           - B. Sample a random integer start $\in \{0, \dots, W - \text{size} - 1\}$.
           - C. Sample a random choice value $\in \{-1, -\frac{1}{2}, \frac{1}{2}, 1\}$.
           - D. Assign $X[i, 0, \text{start} : \text{start} + \text{size}] = \text{value}$.
           - E. Assign target $y[i]$ to be 1 if both size = 1 and value = +1.

        Complete the starter code below by completing the for loop. **If PyTorch complains about
        not being able to convert `numpy.int32` or `numpy.bool_` to `torch.FloatTensor` you may need
        to explicitly convert the value to float using `float(value)`.**
        """,
    "ex11_check": """
        Check your answer by running the code cell below. It will plot the entire training set as a
        heatmap, where blue indicates negative values and red indicates positive values. If you
        initialized your training set correctly (and kept `np.random.seed(0)` above) you should see
        exactly the training set shown in the handout (figure omitted here).
        """,
    "ex12": "## Exercise 1.2 – Define a ConvNet architecture suitable for classifying your synthetic data",
    "ex12_text": r"""
        Define a 1D convolutional neural network with the following feed-forward architecture,
        transforming an input tensor $X \in \mathbb{R}^{N \times C \times W}$ into a vector of scalar
        activations $\mathbf{a} \in \mathbb{R}^{N \times 1}$: Conv1d (3 filters of size 5, padding so
        that the output keeps width $W = 20$) → ReLU → MaxPool1d over the whole width → Flatten →
        Linear to 1 output. (Architecture figure omitted.)

        We do not add a *sigmoid* to the output; class probabilities are
        $\hat{\mathbf{y}} = \sigma(\mathbf{a})$.

        Add a few lines of code to define a PyTorch model with the above architecture.
        """,
    "ex12_check": "Check your model architecture by running the code cell below.",
    "ex12_initial": """
        Plot your model's initial predictions (i.e. *before* training) by running the code cell
        below. Notice that the untrained model predicts arbitrary class probabilities that all look
        similar.
        """,
    "ex13": "## Exercise 1.3 – Train the ConvNet on your synthetic data",
    "ex13_copy": """
        Here you should train the ConvNet architecture from Exercise 1.2, much as you trained a
        PyTorch neural network in Lab 8.

        First, **run the code cell below** to make a copy of the untrained model from Exercise 1.2.
        This will make it easy to re-run the training code cell multiple times, each time starting
        from an untrained model.
        """,
    "ex13_text": """
        Next define a loss function and implement a standard PyTorch training loop to train a copy
        of the untrained model, with the following configuration:

        - *No mini-batches:* feed the whole X matrix through your model, like `model(X)`.
        - *Loss function:* `torch.nn.BCEWithLogitsLoss`.
        - *Optimizer:* `torch.optim.SGD` with learning rate 0.05, momentum 0.9, and weight decay of
          0.001.

        Print the current training loss for the first epoch and every 50 epochs after:

        ```
        for epoch in range(1, num_epoch+1):

            ... your code to apply a step of gradient descent here

            if epoch == 1 or epoch % 50 == 0:
                print("Epoch %d had training loss %.4f" % (epoch, loss_value.item()))
        ```

        The output of your training loop should look exactly like this:

        ```
        Epoch 1 had training loss 0.8562
        Epoch 50 had training loss 0.3519
        Epoch 100 had training loss 0.3281
        Epoch 150 had training loss 0.3212
        ...
        ```

        However, the loss should not go to zero for the current model architecture. You'll fix that
        shortly.
        """,
    "ex13_plot": """
        Plot your trained model's predictions in the code cell below. You should see that the
        prediction vector has an interesting pattern now (unlike the initial model), but that the
        predictions still do not quite match the targets.
        """,
    "ex13_more_filters": """
        The mismatch between predictions and targets is why the loss did not get close to zero,
        despite the fact that your ConvNet architecture can, in principle, learn a perfect
        classifier.

        Currently, your ConvNet training got stuck in a local minimum! To give your ConvNet
        architecture a better chance at "getting lucky", **try going back to Exercise 1.2 and
        increase the number of filters from 3 to 4**. You will then have to re-run all the code cells
        up to this point. With an extra filter, your ConvNet is now "lucky" enough to find at least
        one filter that detects a 0, 1, 0 pattern.
        """,
    "ex14": "## Exercise 1.4 Inspect the filters and weights of your ConvNet",
    "ex14_text": """
        Visualize both the filter weights and the linear (fully-connected) weights with the
        `plot_matrix_grid` function. If you managed to get your training loss close to zero then at
        least one of your filters should look like a "0, 1, 0" detector (figure omitted).

        Write a few lines of plotting code to visualize the weights of both layers. Do you see a
        correspondence between the filter that looks "right" and the positive weight(s) in the
        linear layer?
        """,
    "part2": "# 2. Digit classification with Convolutional Neural Networks",
    "part2_intro": """
        Exercise 2.1–2.2 expand on Lab 8, this time asking you to train a convolutional neural
        network on the MNIST data set rather than a fully-connected neural network.
        """,
    "ex21": "## Exercise 2.1 Load and preprocess MNIST",
    "ex21_text": """
        Implement the `load_mnist_for_convnet` function below. Rather than normalizing the features
        with scikit-learn, perform a simple normalization by scaling the pixel intensities from range
        $[0, 255]$ down to $[0, 1]$. This will be good enough.
        """,
    "ex21_check": "Check your answer by running the code cell below.",
    "ex22": "## Exercise 2.2 Train a Convolutional Neural Network on MNIST",
    "ex22_text": """
        Train a 2D ConvNet to classify MNIST digits with `Conv2d` and `MaxPool2d`. Write a few lines
        of code to define a 2D ConvNet with the following feed-forward architecture:

        1. Convolution with 8 filters each of size 5x5 and enough padding to ensure that each of the
           resulting feature maps has spatial dimensions 28x28, just like the input.
        2. Rectified linear transformation (ReLU).
        3. Max pooling with kernel size 2x2 and a non-overlapping stride.
        4. Flatten the spatial information.
        5. Linear (fully-connected) layer to use all the outputs of the max pooling layer as features
           to make a prediction.
        """,
    "ex22_check": """
        Check your model architecture by trying to feed some inputs through. If an error is raised,
        then something is mis-configured in your network.
        """,
    "ex22_initial": """
        Plot your initial model's predictions on the first training inputs by running the code cell
        below. Notice that once again all the predictions are pretty much the same, and are far from
        the targets.
        """,
    "ex22_filters_initial": """
        Inspect your initial model's filters by plotting them with the `plot_matrix_grid` function.
        They should look random and have small values roughly in range $[-0.1, 0.1]$. (Only plot the
        first layer filter weights, not the linear layer weights.)
        """,
    "ex22_config": """
        Train your model with the following configuration:

        - Use the *CrossEntropyLoss* (since this is multi-class classification, not binary).
        - Use the exact same optimizer configuration you used for Part 1 of this lab (learning rate
          0.05, etc).
        - Use mini-batch training with a batch size of 100.
        - Train for 5 epochs (5 passes over the full training set).

        First, define the loss function and optimizer in a separate code cell below:
        """,
    "ex22_loop": """
        Then, write your training loop in a separate code cell below, so that you can re-run this
        code cell to "continue" training with the same optimizer object. I recommend you add a print
        statement to report progress, such as:

        ```
        Epoch 1 final minibatch had loss 0.2452
        Epoch 2 final minibatch had loss 0.2077
        ...
        ```
        """,
    "ex22_trained": """
        Plot your trained model's predictions. The predictions should now match the targets better
        than before training.
        """,
    "ex22_easy_hard": """
        If you only trained your ConvNet for 5 epochs total, you should be able to identify at least
        one training case that appears to be "harder" than the others, *i.e.* the model has a harder
        time giving a confident prediction.

        Plot an 'easy' training example and a 'hard' training example side-by-side using the
        `plot_matrix_grid` function. This will require you to pull out two separate rows of `X_trn`
        and turn them into a tensor with shape (2,28,28).
        """,
    "ex22_filters_trained": """
        Inspect your trained model's filters by plotting them with the `plot_matrix_grid` function.
        They should no longer be completely random and instead contain structures that look like
        little "edge" detectors.
        """,
}


def lab9_cells(answers: dict[str, str | None]) -> list[tuple[str, str]]:
    """The Lab 9 notebook: the handout's headings, prose and given cells around `answers`.

    An answer slot set to OMIT (None) leaves that student cell out (bob never writes the
    4-filter cells).
    """
    m = LAB9_MD
    cells: list[tuple[str, str | None]] = [
        (MD, m["title"]),
        (MD, m["intro"]),
        (CODE, LAB9_IMPORTS),
        (MD, m["plot_grid"]),
        (CODE, PLOT_MATRIX_GRID),
        (MD, m["part1"]),
        (MD, m["part1_intro"]),
        (CODE, PLOT_NAMED_TENSORS),
        (MD, m["ex11"]),
        (MD, m["ex11_text"]),
        (CODE, answers["ex11"]),
        (MD, m["ex11_check"]),
        (CODE, LAB9_PLOT_TRAINING_SET),
        (MD, m["ex12"]),
        (MD, m["ex12_text"]),
        (CODE, answers["ex12"]),
        (MD, m["ex12_check"]),
        (CODE, LAB9_CHECK_12),
        (MD, m["ex12_initial"]),
        (CODE, LAB9_INITIAL_PREDICTIONS),
        (MD, m["ex13"]),
        (MD, m["ex13_copy"]),
        (CODE, LAB9_COPY_UNTRAINED),
        (MD, m["ex13_text"]),
        (CODE, answers["ex13_train"]),
        (MD, m["ex13_plot"]),
        (CODE, answers["ex13_plot"]),
        (MD, m["ex13_more_filters"]),
        (CODE, answers["ex13_model4"]),
        (CODE, answers["ex13_train4"]),
        (CODE, answers["ex13_plot4"]),
        (MD, m["ex14"]),
        (MD, m["ex14_text"]),
        (CODE, answers["ex14"]),
        (MD, m["part2"]),
        (MD, m["part2_intro"]),
        (MD, m["ex21"]),
        (MD, m["ex21_text"]),
        (CODE, answers["ex21"]),
        (MD, m["ex21_check"]),
        (CODE, LAB9_CHECK_21),
        (MD, m["ex22"]),
        (MD, m["ex22_text"]),
        (CODE, answers["ex22_model"]),
        (MD, m["ex22_check"]),
        (CODE, LAB9_CHECK_22),
        (MD, m["ex22_initial"]),
        (CODE, LAB9_INITIAL_MNIST_PREDICTIONS),
        (MD, m["ex22_filters_initial"]),
        (CODE, answers["ex22_filters_initial"]),
        (MD, m["ex22_config"]),
        (CODE, answers["ex22_config"]),
        (MD, m["ex22_loop"]),
        (CODE, answers["ex22_train"]),
        (MD, m["ex22_trained"]),
        (CODE, answers["ex22_trained"]),
        (MD, m["ex22_easy_hard"]),
        (CODE, answers["ex22_easy_hard"]),
        (MD, m["ex22_filters_trained"]),
        (CODE, answers["ex22_filters_trained"]),
    ]
    return [(kind, source) for kind, source in cells if source is not OMIT]


# --- the handout's own answers, verbatim (PDF line wraps rejoined) ----------------------------

HANDOUT_LAB9 = {
    "ex11": """
        np.random.seed(0) # For reproducibility


        N = 75 # N = number of training cases
        C = 1 # C = number of channels (just 1 in our case)
        W = 20 # W = width of the 1-dimensional input image

        # We create feature tensor X in "(N,C,W) format" (the shape) so that it can
        # be used directly as input to PyTorch's Conv1D module.
        X = torch.zeros((N, C, W)) # Start with zeros. You need to assign some of these feature values!
        y = torch.zeros((N, 1)) # Start with zeros. You need to assign some of these target values!

        for i in range(N):
            size = np.random.randint(1, 3)
            start = np.random.randint(0, 20-size)
            value = np.random.choice([-1, -0.5, 0.5, 1])
            X[i,0,start:start+size] = value
            if size == 1 and value == 1:
                y[i] = 1

        # Your code for initializing X and y here. Aim for 5-7 lines.
        """,
    "ex12": """
        torch.manual_seed(0) # Ensure model weights initialized with same random numbers
        import torch.nn as nn
        num_filter = 3 # The number of filters to learn
        filter_size = 5 # The size of each filter

        model = torch.nn.Sequential(
            nn.Conv1d(1,num_filter,filter_size,padding=filter_size//2),
            nn.ReLU(),
            nn.MaxPool1d(20),
            nn.Flatten(),
            nn.Linear(num_filter,1)
            # Your code for defining the model architecture here. Aim for 5-9 lines.
        )
        """,
    "ex13_train": """
        from torch import optim

        num_epoch = 500
        losses = []
        criterion = torch.nn.BCEWithLogitsLoss()
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.001)

        for epoch in range(1, num_epoch+1):
            # forward pass
            y_pred = model(X)

            # loss
            loss = criterion(y_pred, y)

            # backward pass
            optimizer.zero_grad()
            loss.backward()

            # update parameters
            optimizer.step()


            # report
            if epoch == 1 or epoch % 50 == 0:
                print("Epoch %d had training loss %.4f" % (epoch, loss.item()))
        """,
    "ex13_plot": r"""
        y_pred = torch.sigmoid(model(X))  # Turn activations into probabilities by feeding through sigmoid
        plot_named_tensors({'X': X, '$\hat{y}$': y_pred, 'y': y})
        # Your code here. See Exercise 1.2.
        """,
    "ex13_model4": """
        torch.manual_seed(0) # Ensure model weights initialized with same random numbers
        torch.nn.Flatten(start_dim=1,end_dim=-1)
        num_filter = 4 # The number of filters to learn
        filter_size = 5 # The size of each filter

        model2 = torch.nn.Sequential(
            nn.Conv1d(1,num_filter,filter_size,padding=filter_size//2),
            nn.ReLU(),
            nn.MaxPool1d(np.size(X,2)),
            nn.Flatten(),
            nn.Linear(num_filter,1)
            # Your code for defining the model architecture here. Aim for 5-9 lines.
        )
        """,
    "ex13_train4": """
        num_epoch = 500
        losses = []
        criterion = torch.nn.BCEWithLogitsLoss()
        optimizer = optim.SGD(model2.parameters(), lr=0.05, momentum=0.9,weight_decay=0.001)

        for epoch in range(1, num_epoch+1):
            # forward pass
            y_pred = model2(X)

            # loss
            loss = criterion(y_pred, y)

            # backward pass
            optimizer.zero_grad()
            loss.backward()

            # update parameters
            optimizer.step()

            # report
            if epoch == 1 or epoch % 50 == 0:
                print("Epoch %d had training loss %.4f" % (epoch, loss.item()))
        """,
    "ex13_plot4": r"""
        y_pred = torch.sigmoid(model2(X)) # Turn activations into probabilities by feeding through sigmoid
        print(y_pred[:5])
        plot_named_tensors({'X': X, '$\hat{y}$': y_pred, 'y': y})
        # Your code here. See Exercise 1.2.
        """,
    "ex14": """
        W1, b1, W2, b2 = model12.parameters()
        print(W1.shape)  # The tensor of 4 filters, each with 1 channel and kernel size 5
        print(W2.shape)  # The matrix of linear (fully-connected) weights that combine the filter responses

        # Your plotting code here. Aim for 2-4 lines of code.
        plot_matrix_grid(W1)
        plot_matrix_grid(W2.reshape(1,1,4))
        """,
    "ex21": '''
        def load_mnist_for_convnet(filename):
            """
            Loads the MNIST data from a Numpy NPZ file and returns two PyTorch tensors:
            X: a float tensor with shape (N,1,28,28) where N is the number of images in the file
            y: an int64 tensor with shape (N,) containing the class targets for the images.
            The pixels values are scaled to be in range [0,1] where 0 is black and 1 is white.
            """
            # Your code here. Aim for 7-10 lines.
            data = np.load(filename)
            X = data['X']
            y = data['y']

            N = X.shape[0]

            X = np.reshape(X, (N,1,28,28))

            X_t = torch.from_numpy(X/abs(X).max()).float()
            y_t = torch.from_numpy(y).long()

            return X_t, y_t

        X_trn, y_trn = load_mnist_for_convnet("mnist_train.npz")
        X_tst, y_tst = load_mnist_for_convnet("mnist_test.npz")
        ''',
    "ex22_model": """
        torch.manual_seed(0) # Ensure model weights initialized with same random numbers

        num_filter = 8 # The number of filters to learn
        filter_size = 5 # The size of each filter

        model = torch.nn.Sequential(
            nn.Conv2d(in_channels=1, out_channels=num_filter, kernel_size=filter_size, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(in_features=1568, out_features=10)
        )
        # Your code here. Aim for 8-11 lines.
        """,
    "ex22_filters_initial": """
        W1, b1, W2, b2 = model.parameters()
        print(W1.shape) # The tensor of 4 filters, each with 1 channel and kernel size 5

        plot_matrix_grid(W1.reshape(8,5,5))

        # Your plotting code here. Aim for 1-2 lines of code.
        """,
    "ex22_config": """
        batch_size = 100
        num_epoch = 5

        loss = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.001)

        # Your code to define loss function and optimizer here. Aim for 2 Lines.
        """,
    "ex22_train": """
        next_epoch = 1

        for epoch in range(next_epoch, next_epoch+num_epoch):

            # Make an entire pass (an 'epoch') over the training data in batch_size chunks
            for i in range(0, len(X_trn), batch_size):
                X = X_trn[i:i+batch_size]      # Slice out a mini-batch of features
                y = y_trn[i:i+batch_size]      # Slice out a mini-batch of targets

                y_pred = model(X)               # Make predictions (final-layer activations)
                l = loss(y_pred, y)             # Compute loss with respect to predictions

                model.zero_grad()              # Reset all gradient accumulators to zero (PyTorch thing)
                l.backward()                   # Compute gradient of loss wrt all parameters (backprop!)
                optimizer.step()               # Use the gradients to take a step with SGD.

            print("Epoch %2d: final minibatch had loss: %.4f" % (epoch, l.item()))

        print("Epoch %2d: loss on test set: %.4f" % (epoch, loss(model(X_tst), y_tst)))
        next_epoch = epoch+1
        # Your mini-batch training loop here. Aim for 9-12 lines.
        """,
    "ex22_trained": r"""
        y_true = torch.zeros((50, 10))
        y_true[torch.arange(50), y_trn[:50]] = 1
        y_pred = torch.softmax(model(X_trn[:50]), dim=1)

        plot_named_tensors({'$\hat{y}$': y_pred, '$y$': y_true})
        # Your code here. Aim for 2-3 Lines. Re-use the y_true matrix from the earlier code cell.
        """,
    "ex22_easy_hard": """
        plot_matrix_grid(torch.vstack((X_trn[19,:],X_trn[4,:])))

        # Your code here. Aim for 1-4 Lines.
        """,
    "ex22_filters_trained": """
        w1,w2,w3,w4 = model.parameters()
        plot_matrix_grid(w1.reshape((8,5,5)))

        # Your code here. Aim for 2-3 Lines.
        """,
}

# --- alice: fully correct --------------------------------------------------------------------

ALICE = {
    "ex11": """
        np.random.seed(0) # For reproducibility

        N = 75 # N = number of training cases
        C = 1 # C = number of channels (just 1 in our case)
        W = 20 # W = width of the 1-dimensional input image

        # We create feature tensor X in "(N,C,W) format" (the shape) so that it can
        # be used directly as input to PyTorch's Conv1D module.
        X = torch.zeros((N, C, W)) # Start with zeros. You need to assign some of these feature values!
        y = torch.zeros((N, 1)) # Start with zeros. You need to assign some of these target values!

        for i in range(N):
            size = np.random.randint(1, 3)                     # A. size in {1, 2}
            start = np.random.randint(0, W - size)             # B. start in {0, ..., W-size-1}
            value = np.random.choice([-1, -0.5, 0.5, 1])       # C. the value to fill in
            X[i, 0, start:start+size] = float(value)           # D. the stretch of features
            y[i] = float(size == 1 and value == 1)             # E. a single +1 pixel
        """,
    "ex12": """
        torch.manual_seed(0) # Ensure model weights initialized with same random numbers
        num_filter = 3 # The number of filters to learn
        filter_size = 5 # The size of each filter

        model = torch.nn.Sequential(
            torch.nn.Conv1d(C, num_filter, kernel_size=filter_size, padding=filter_size//2),
            torch.nn.ReLU(),
            torch.nn.MaxPool1d(kernel_size=W),
            torch.nn.Flatten(),
            torch.nn.Linear(num_filter, 1),
        )
        """,
    "ex13_train": """
        # Train a fresh copy of the untrained 3-filter model, so this cell can be re-run.
        model3 = copy.deepcopy(untrained_model)

        num_epoch = 500
        loss_fn = torch.nn.BCEWithLogitsLoss()
        optimizer = torch.optim.SGD(model3.parameters(), lr=0.05, momentum=0.9, weight_decay=0.001)

        for epoch in range(1, num_epoch+1):
            a = model3(X)                   # activations (logits), whole training set at once
            loss_value = loss_fn(a, y)
            optimizer.zero_grad()
            loss_value.backward()
            optimizer.step()
            if epoch == 1 or epoch % 50 == 0:
                print("Epoch %d had training loss %.4f" % (epoch, loss_value.item()))
        """,
    "ex13_plot": r"""
        y_pred = torch.sigmoid(model3(X))  # Turn activations into probabilities by feeding through sigmoid
        print(y_pred[:5])
        plot_named_tensors({'X': X, '$\hat{y}$': y_pred, 'y': y})
        """,
    "ex13_model4": """
        # Same architecture with 4 filters instead of 3, initialized from the same seed.
        torch.manual_seed(0) # Ensure model weights initialized with same random numbers
        num_filter = 4
        filter_size = 5

        model4 = torch.nn.Sequential(
            torch.nn.Conv1d(C, num_filter, kernel_size=filter_size, padding=filter_size//2),
            torch.nn.ReLU(),
            torch.nn.MaxPool1d(kernel_size=W),
            torch.nn.Flatten(),
            torch.nn.Linear(num_filter, 1),
        )
        untrained_model4 = copy.deepcopy(model4)
        """,
    "ex13_train4": """
        num_epoch = 500
        loss_fn = torch.nn.BCEWithLogitsLoss()
        optimizer = torch.optim.SGD(model4.parameters(), lr=0.05, momentum=0.9, weight_decay=0.001)

        for epoch in range(1, num_epoch+1):
            a = model4(X)
            loss_value = loss_fn(a, y)
            optimizer.zero_grad()
            loss_value.backward()
            optimizer.step()
            if epoch == 1 or epoch % 50 == 0:
                print("Epoch %d had training loss %.4f" % (epoch, loss_value.item()))
        """,
    "ex13_plot4": r"""
        y_pred = torch.sigmoid(model4(X))
        print(y_pred[:5])
        plot_named_tensors({'X': X, '$\hat{y}$': y_pred, 'y': y})
        """,
    "ex14": """
        W1, b1, W2, b2 = model4.parameters()
        print(W1.shape)  # The tensor of 4 filters, each with 1 channel and kernel size 5
        print(W2.shape)  # The matrix of linear (fully-connected) weights that combine the filter responses

        plot_matrix_grid(W1)                     # (4,1,5): one 1x5 matrix per filter
        plot_matrix_grid(W2.reshape(1, 1, 4))    # the 4 linear weights, one per filter
        """,
    "ex21": '''
        def load_mnist_for_convnet(filename):
            """
            Loads the MNIST data from a Numpy NPZ file and returns two PyTorch tensors:
            X: a float tensor with shape (N,1,28,28) where N is the number of images in the file
            y: an int64 tensor with shape (N,) containing the class targets for the images.
            The pixels values are scaled to be in range [0,1] where 0 is black and 1 is white.
            """
            data = np.load(filename)
            X = data['X'].reshape(-1, 1, 28, 28).astype(np.float32) / 255  # [0,255] -> [0,1]
            y = data['y'].astype(np.int64)
            return torch.from_numpy(X), torch.from_numpy(y)

        X_trn, y_trn = load_mnist_for_convnet("mnist_train.npz")
        X_tst, y_tst = load_mnist_for_convnet("mnist_test.npz")
        print(X_trn.shape, X_trn.dtype, y_trn.shape, y_trn.dtype)
        ''',
    "ex22_model": """
        torch.manual_seed(0) # Ensure model weights initialized with same random numbers

        num_filter = 8 # The number of filters to learn
        filter_size = 5 # The size of each filter

        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, num_filter, kernel_size=filter_size, padding=filter_size//2),  # 8x28x28
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(kernel_size=2, stride=2),                                      # 8x14x14
            torch.nn.Flatten(),
            torch.nn.Linear(num_filter * 14 * 14, 10),                                        # 1568 -> 10
        )
        """,
    "ex22_filters_initial": """
        W1, b1, W2, b2 = model.parameters()
        print(W1.shape)  # 8 filters, each with 1 channel and size 5x5
        print(W2.shape)
        plot_matrix_grid(W1.reshape(-1, filter_size, filter_size))
        """,
    "ex22_config": """
        batch_size = 100
        num_epoch = 5

        loss_fn = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.001)
        next_epoch = 1
        """,
    "ex22_train": """
        for epoch in range(next_epoch, next_epoch + num_epoch):
            # One pass over the training set in mini-batches of batch_size
            for i in range(0, len(X_trn), batch_size):
                X_batch = X_trn[i:i+batch_size]
                y_batch = y_trn[i:i+batch_size]
                l = loss_fn(model(X_batch), y_batch)
                optimizer.zero_grad()
                l.backward()
                optimizer.step()
            print("Epoch %2d: final minibatch had loss %.4f" % (epoch, l.item()))
        next_epoch = epoch + 1

        with torch.no_grad():
            a_tst = model(X_tst)
            test_loss = loss_fn(a_tst, y_tst).item()
            test_accuracy = (a_tst.argmax(dim=1) == y_tst).float().mean().item()
        print("Test loss %.4f, test accuracy %.4f on %d test images" % (test_loss, test_accuracy, len(X_tst)))
        """,
    "ex22_trained": r"""
        y_true = torch.zeros((50, 10))
        y_true[torch.arange(50), y_trn[:50]] = 1
        with torch.no_grad():
            y_pred = torch.softmax(model(X_trn[:50]), dim=1)
        plot_named_tensors({'$\hat{y}$': y_pred, '$y$': y_true})
        """,
    "ex22_easy_hard": """
        # Confidence = the largest predicted class probability on each of the first 50 training cases
        with torch.no_grad():
            confidence = torch.softmax(model(X_trn[:50]), dim=1).max(dim=1).values
        easy, hard = confidence.argmax().item(), confidence.argmin().item()
        print("easy: case %d (label %d, confidence %.3f); hard: case %d (label %d, confidence %.3f)"
              % (easy, y_trn[easy], confidence[easy], hard, y_trn[hard], confidence[hard]))
        plot_matrix_grid(torch.stack([X_trn[easy, 0], X_trn[hard, 0]]))
        """,
    "ex22_filters_trained": """
        W1 = model[0].weight
        plot_matrix_grid(W1.reshape(-1, filter_size, filter_size))
        """,
}

# --- bob: kept 3 filters, never builds the 4-filter model ------------------------------------

BOB = {
    **ALICE,
    "ex13_model4": OMIT,
    "ex13_train4": OMIT,
    "ex13_plot4": OMIT,
    "ex14": """
        W1, b1, W2, b2 = model3.parameters()
        print(W1.shape)  # The tensor of filters, each with 1 channel and kernel size 5
        print(W2.shape)  # The matrix of linear (fully-connected) weights that combine the filter responses

        plot_matrix_grid(W1)
        plot_matrix_grid(W2.reshape(1, 1, 3))
        """,
}

# --- carol: like alice, but lr 0.5 in both 1.3 training loops ----------------------------------

CAROL = {
    **ALICE,
    "ex13_train": ALICE["ex13_train"].replace("lr=0.05", "lr=0.5"),
    "ex13_train4": ALICE["ex13_train4"].replace("lr=0.05", "lr=0.5"),
}

# --- dan: odd but correct ----------------------------------------------------------------------

DAN = {
    "ex11": """
        np.random.seed(0) # For reproducibility
        N, C, W = 75, 1, 20
        X = torch.zeros((N, C, W))
        y = torch.zeros((N, 1))
        for row in range(N):
            size = np.random.randint(1, 3)
            start = np.random.randint(W - size)           # same as randint(0, W - size)
            value = float(np.random.choice([-1, -0.5, 0.5, 1]))
            X[row, 0, start:start + size] = value
            if (size, value) == (1, 1.0):
                y[row, 0] = 1.0
        """,
    "ex12": """
        # Following the hint in 1.3, I went straight to 4 filters.
        import torch.nn as nn
        torch.manual_seed(0)
        num_filter = 4
        filter_size = 5
        model = nn.Sequential(
            nn.Conv1d(in_channels=C, out_channels=num_filter, kernel_size=filter_size, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(kernel_size=W),
            nn.Flatten(),
            nn.Linear(in_features=num_filter, out_features=1),
        )
        model
        """,
    "ex13_train": """
        def fit(net, X, y, epochs=500, lr=0.05):
            objective = nn.BCEWithLogitsLoss()
            sgd = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=1e-3)
            history = []
            for epoch in range(1, epochs + 1):
                sgd.zero_grad()
                loss_value = objective(net(X), y)
                loss_value.backward()
                sgd.step()
                history.append(loss_value.item())
                if epoch == 1 or epoch % 50 == 0:
                    print("Epoch %d had training loss %.4f" % (epoch, loss_value.item()))
            return history

        net = copy.deepcopy(untrained_model)
        trained = fit(net, X, y)
        """,
    "ex13_plot": r"""
        with torch.no_grad():
            probs = torch.sigmoid(net(X))
        plot_named_tensors({'X': X, '$\hat{y}$': probs, 'y': y})
        """,
    "ex13_model4": """
        # My model in 1.2 already has 4 filters, so there is nothing to rebuild here.
        print("final training loss with %d filters: %.4f" % (num_filter, trained[-1]))
        """,
    "ex13_train4": OMIT,
    "ex13_plot4": OMIT,
    "ex14": """
        conv_w = net[0].weight.detach()     # (4, 1, 5)
        lin_w = net[4].weight.detach()      # (1, 4)
        print(conv_w.shape, lin_w.shape)
        plot_matrix_grid(conv_w)
        plot_matrix_grid(lin_w.view(1, 1, -1))
        """,
    "ex21": """
        def load_mnist_for_convnet(filename):
            with np.load(filename) as archive:
                images, labels = archive["X"], archive["y"]
            X = torch.tensor(images.astype(np.float32) / 255.0).view(-1, 1, 28, 28)
            y = torch.tensor(labels, dtype=torch.int64)
            return X, y

        X_trn, y_trn = load_mnist_for_convnet("mnist_train.npz")
        X_tst, y_tst = load_mnist_for_convnet("mnist_test.npz")
        """,
    "ex22_model": """
        class DigitNet(nn.Module):
            def __init__(self, n_filters=8, k=5):
                super().__init__()
                self.conv = nn.Conv2d(1, n_filters, k, padding=k // 2)
                self.pool = nn.MaxPool2d(2, stride=2)
                self.fc = nn.Linear(n_filters * 14 * 14, 10)

            def forward(self, x):
                x = self.pool(torch.relu(self.conv(x)))
                return self.fc(torch.flatten(x, start_dim=1))

        torch.manual_seed(0)
        model = DigitNet()
        model
        """,
    "ex22_filters_initial": """
        plot_matrix_grid(model.conv.weight[:, 0])
        """,
    "ex22_config": """
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.001)
        """,
    "ex22_train": """
        for epoch in range(1, 6):
            for xb, yb in zip(X_trn.split(100), y_trn.split(100)):
                optimizer.zero_grad()
                batch_loss = criterion(model(xb), yb)
                batch_loss.backward()
                optimizer.step()
            print(f"Epoch {epoch}: final minibatch had loss {batch_loss.item():.4f}")

        with torch.no_grad():
            accuracy = (model(X_tst).argmax(1) == y_tst).double().mean().item()
        print(f"test accuracy {accuracy:.4f}")
        """,
    "ex22_trained": r"""
        with torch.no_grad():
            probs = torch.softmax(model(X_trn[:50]), dim=1)
        onehot = torch.nn.functional.one_hot(y_trn[:50], 10).float()
        plot_named_tensors({'$\hat{y}$': probs, '$y$': onehot})
        """,
    "ex22_easy_hard": """
        with torch.no_grad():
            p_true = torch.softmax(model(X_trn[:50]), dim=1)[torch.arange(50), y_trn[:50]]
        order = torch.argsort(p_true)
        hard, easy = order[0].item(), order[-1].item()
        plot_matrix_grid(X_trn[[easy, hard], 0], cmap='gray')
        """,
    "ex22_filters_trained": """
        plot_matrix_grid(model.conv.weight[:, 0])
        """,
}


# =============================================================================================
# hw2 - PCA, KNN, softmax regression, CNN
# =============================================================================================

HW2_IMPORTS = """
import numpy as np
import matplotlib.pyplot as plt
from torch import nn
import torch
from torchvision.datasets import MNIST
import torchvision.transforms as transforms
from sklearn.metrics import accuracy_score
%matplotlib inline
"""

HW2_LOAD_SECTION2 = """
train_dataset = MNIST(root='.', train=True, transform=transforms.ToTensor(), download=True)
test_dataset = MNIST('.', train=False, transform=transforms.ToTensor())
train_X = train_dataset.data.numpy() # training data, uint8 type to reduce memory and comparison cost
train_y = train_dataset.targets.numpy() # training label
test_X = test_dataset.data.numpy() # testing data, uint8 to reduce memory and comparison cost
test_y = test_dataset.targets.numpy() # testing label
"""

HW2_FLATTEN = """
train_X = train_X.reshape((train_X.shape[0], -1))
test_X = test_X.reshape((test_X.shape[0], -1))
"""

HW2_KNN_IMPORTS = """
from scipy.spatial import KDTree
from scipy.stats import mode
"""

HW2_KNN_EVAL = """
from sklearn.metrics import accuracy_score
knn = KNNClassifier(3).fit(train_X, train_y)
pred_y = knn.predict(test_X)
print('KNN accuracy:', accuracy_score(test_y, pred_y))
"""

HW2_LOAD_NORMALIZED = """
train_dataset = MNIST(root='.', train=True, transform=transforms.ToTensor(), download=True)
test_dataset = MNIST('.', train=False, transform=transforms.ToTensor())
train_X = train_dataset.data.numpy() / 255. # normalize data to 0-1
train_y = train_dataset.targets.numpy() # training label
test_X = test_dataset.data.numpy() / 255. # normalize data to 0-1
test_y = test_dataset.targets.numpy() # testing label
train_X = train_X.reshape((train_X.shape[0], -1))
test_X = test_X.reshape((test_X.shape[0], -1))
"""

HW2_SGD_RUN = """
train_y_onehot = np.zeros((train_y.shape[0], 10))
train_y_onehot[np.arange(len(train_y)), train_y] = 1
W, b = SGD(J, dJ, train_X, train_y_onehot, 10, max_epoch=20)
accuracy_score(test_y, np.argmax(test_X @ W.T + b, axis=1))
"""

HW2_MLP_DATA = """
train_dataset = MNIST(root='.', train=True, transform=transforms.ToTensor(), download=True)
test_dataset = MNIST('.', train=False, transform=transforms.ToTensor())
"""

HW2_MLP_CLASS = '''
class MLP(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        """init function builds the required layers"""
        super(MLP, self).__init__() # This line is always required
        # Hidden layer
        self.layer1 = nn.Linear(input_size, hidden_size)
        # activation
        self.relu = nn.ReLU()
        # output layer
        self.layer2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        """forward function describes how input tensor is transformed to output tensor"""
        # flatten the input from (Nx1x28x28) to (Nx784)
        torch.flatten(x, 1)
        x = self.layer1(x)
        x = self.relu(x)
        x = self.layer2(x)
        # Note we do not need softmax layer, since this layer is included in the CrossEntropyLoss provided by torch
        return x
'''

HW2_MLP_MODEL = """
model = MLP(784, 1024, 10)
model
"""

HW2_MLP_OPTS = """
opts = {
    'lr': 5e-4,
    'epochs': 5,
    'batch_size': 64
}
"""

HW2_MLP_OPTIMIZER = """
optimizer = torch.optim.Adam(model.parameters(), opts['lr']) # Adam is a much better optimizer compared to SGD
criterion = torch.nn.CrossEntropyLoss() # loss function
train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=opts['batch_size'], shuffle=True)
test_loader = torch.utils.data.DataLoader(dataset=test_dataset, batch_size=opts['batch_size'], shuffle=True)
"""

HW2_TQDM_NOTEBOOK = """
from tqdm import tqdm_notebook
"""

HW2_MLP_TRAIN = """
for epoch in range(opts['epochs']):
    train_loss = []
    for i, (data, labels) in tqdm_notebook(enumerate(train_loader), total=len(train_loader)):
        # reshape data
        data = data.reshape([-1, 784])
        # pass data through network
        outputs = model(data)
        loss = criterion(outputs, labels)
        optimizer.zero_grad() # Important! Otherwise the optimizer will accumulate gradients from previous runs!
        loss.backward()
        optimizer.step()
        train_loss.append(loss.item())
    test_loss = []
    test_accuracy = []
    for i, (data, labels) in enumerate(test_loader):
        # reshape data
        data = data.reshape([-1, 784])
        # pass data through network
        outputs = model(data)
        _, predicted = torch.max(outputs.data, 1)
        loss = criterion(outputs, labels)
        test_loss.append(loss.item())
        test_accuracy.append((predicted == labels).sum().item() / predicted.size(0))
    print('epoch: {}, train loss: {}, test loss: {}, test accuracy: {}'.format(epoch, np.mean(train_loss), np.mean(test_loss), np.mean(test_accuracy)))
"""

HW2_CNN_MODEL = """
model = CNN((1, 28, 28), 10)
model
"""

HW2_CNN_LOADERS = """
criterion = torch.nn.CrossEntropyLoss() # loss function
train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=opts['batch_size'], shuffle=True)
test_loader = torch.utils.data.DataLoader(dataset=test_dataset, batch_size=opts['batch_size'], shuffle=True)
"""

# --- hw2 prose (abridged from the handout) ------------------------------------------------------

HW2_MD = {
    "title": "# hw2",
    "intro": """
        For this homework you will be using `pytorch` and `torchvision` library for neural networks
        and datasets. You can install them with `pip install torch torchvision`.
        """,
    "q1": "# 1 Question 1 Principal Component Analysis",
    "q1_text": """
        This problem will guide you through the principal component analysis. You will be using a
        classical dataset, the MNIST hand written digit dataset.
        """,
    "q11": "### Question 1.1 Familiarize yourself with the data [5pt]",
    "q11_text": """
        For this task, you will be using the torchvision package that provides the MNIST dataset.
        For each digit class (0-9), plot 1 image from the class and store those 10 images for each
        digit class in the array `digit_images`.
        """,
    "q12": "## 1.2 Question 1.2 PCA",
    "q12_text": "The following questions will guide you through the PCA algorithm.",
    "q121": "### Question 1.2.1 Centering the data [5pt]",
    "q121_text": """
        For each image, flatten it to a 1-D vector. To perform PCA on the dataset, we first move the
        data points so they have 0 mean on each dimension. Store the centered data in variable
        `data_centered` and the mean of each dimension in variable `data_mean`.
        """,
    "q122": "### Question 1.2.2 Compute the covariance matrix of the data [5pt]",
    "q122_text": """
        You need to store the covariance matrix of the data in variable `data_covmat`. You may
        **not** use `numpy.cov`.
        """,
    "q123": "### Question 1.2.3 Compute the eigenvalues of the covariance matrix [5pt]",
    "q123_text": """
        You need to store the eigenvalues of the covariance matrix in variable `covmat_eig`, sorted
        in descending order. Then you need to plot the eigenvalues with `plt.plot`. You can use any
        numpy function.
        """,
    "q124": "### Question 1.2.4 Project data onto the first 2 principal components [5pt]",
    "q124_text": """
        Now you need to project the centered data on the 2D space formed by the eigenvectors
        corresponding to the 2 largest eigenvalues. Create a 2D scatter plot where you need to assign
        a unique color to each digit class.
        """,
    "q125": "### Question 1.2.5 Unproject data back to high dimensions [10pt]",
    "q125_text": """
        For this question, you need to project the 10 images you plotted in 1.1 on the first 2
        principal components, and then unproject the "compressed" 2-D representations back to the
        original space. Plot the "compressed" digit (the reconstructed digit). Do they look similar
        to the original images?
        """,
    "q126": "### Question 1.2.6 Choose a better low dimension space. [5pt]",
    "q126_text": """
        Do the previous problem with more dimensions (e.g. 3, 5, 10, 20, 50, 100). You only need to
        show results for one of them. Answer the following questions. How many dimensions are
        required to represent the digits reasonably well? How are your results related to
        **question 1.2.3**?
        """,
    "q13": "### Question 1.3 Harris Corner and PCA [10pt]",
    "q13_text": r"""
        Recall Harris corner detector algorithm: 1. Compute x and y derivatives ($I_x, I_y$) of an
        image 2. Compute products of derivatives ($I_x^2, I_y^2, I_{xy}$) at each pixel 3. Compute
        matrix $M$ at each pixel, where

        $$M(x_0, y_0) = \sum_{x,y} w(x - x_0, y - y_0) \begin{bmatrix} I_x^2 & I_x I_y \\ I_x I_y &
        I_y^2 \end{bmatrix}$$

        Here, we set weight $w(x, y)$ to be a box filter of size 3×3 (the box is placed centered at
        $(x_0, y_0)$).

        In this problem, you need to show that Harris Corner detector is really just principal
        component analysis in the gradient space. Your explanation should answer the following
        questions. 1. As we know, PCA is performed on data points. What are the data points in Harris
        corner detector when we think of it as a PCA? 2. What is the covariance matrix used in Harris
        corner detector and why it is a covariance matrix? 3. What are the principal components in
        Harris corner detector? 4. Briefly explain how principal components imply "cornerness".
        """,
    "q2": "# 2 Question 2 KNN, Softmax Regression",
    "q21": "### Question 2.1 K-Nearest Neighbor [10pt]",
    "q21_text": """
        In this problem you will be implementing the KNN classifier. Fill in the functions in the
        starter code below. You are allowed to use `scipy.spatial.KDTree` and `scipy.stats.mode` (in
        case of a tie, pick any one). Please avoid `sklearn.neighbors.KDTree` as it appears extremely
        slow. You are **not** allowed to use a library KNN function that directly solves the problem.
        """,
    "q22": "## 2.2 Question 2.2 Softmax Regression",
    "q22_text": r"""
        In this problem, you will be implementing the softmax regression (multi-class logistic
        regression). Suppose the number of features in data points is $m$,

        1. Softmax function $S$ normalizes a vector to have sum 1:
           $S(x) = \left[\frac{e^{x_1}}{\sum_{j=1}^m e^{x_j}}, \dots,
           \frac{e^{x_m}}{\sum_{j=1}^m e^{x_j}} \right]$
        2. Cross entropy loss $J$ is the multiclass logistic regression loss:
           $J(y', y) = - \sum_{i=1}^m y'_i \log y_i$, where $y'$ is the one-hot ground truth label
           and $y$ is the predicted label distribution.
        3. Softmax regression is the optimization problem
           $\min_{W,b} \sum_{(x,y') \in \{\text{training set}\}} J(y', S(Wx + b))$.
        4. This objective is optimized with gradient descent: update $W$ and $b$ with
           $\frac{\partial L}{\partial W}$ and $\frac{\partial L}{\partial b}$.
        """,
    "q221": "### Question 2.2.1 Compute the gradients [10pt]",
    "q221_text": r"""
        1. Compute the gradient $\frac{\partial J}{\partial y_i}$ in terms of $y'_i$ and $y_i$.
        2. Let $u = Wx + b$, $y_i = S_i(u)$. Compute $\frac{\partial y_i}{\partial u_j}$ in terms of
           $y_i, y_j$ and $\delta_{ij}$.
        3. Compute $\frac{\partial J}{\partial W_{jk}}$ and $\frac{\partial J}{\partial b_j}$ in terms
           of $y_j, y'_j, x_k$. Explain your results in an intuitive way.
        4. Compute $\frac{\partial J}{\partial W}$ and $\frac{\partial J}{\partial b}$ in matrix form.
        """,
    "q222": "### Question 2.2.2 Stochastic Gradient Descent [10pt]",
    "q222_text": r"""
        Instead of the gradient over the whole dataset, update the weights with per-data gradients
        (SGD). 1. Implement softmax function $S$, stabilized using $S(x) = S(x - \max(x))$.
        2. Implement function $J$ (loss) and $dJ$ (loss gradient). Note: $J$ is not required to run
        the algorithm, but you may want to implement it for debug purposes. 3. Implement the SGD
        algorithm. 4. Run the algorithm for 20 epochs (each epoch iterates the whole data set once)
        with learning rate 1e-3 and report accuracy on test set. You may use
        `sklearn.metrics.accuracy_score`. Hint: accuracy should be > 90%.
        """,
    "q3": "# 3 Question 3 Convolutional Neural Networks",
    "q3_text": """
        This question requires you to use the PyTorch framework for neural network training. You
        will not need GPU to train the networks for this problem.

        The following is a code sample for training a simple multi-layer perceptron neural network
        using PyTorch.
        """,
    "q31": "### Question 3.1 Implementing CNN [15pt]",
    "q31_text": """
        You need to implement a convolutional neural network for the same task as above. You may
        find the PyTorch documentation helpful. <https://pytorch.org/docs/stable/nn.html>

        You will need to adjust the network size and training options for better performance. We
        provide a working network structure. In convolutional layers, (conv MxM, N) means the layer
        has kernel size M by M and N output channels.

        (conv 5x5, 32) -> (relu) -> (maxpool 2x2) -> (conv 5x5, 64) -> (relu) -> (maxpool 2x2) ->
        (flatten) -> (linear 1024) -> (output 10)

        For full score, you need to achieve 99% testing accuracy. Also, plot the hand-written digits
        that your network got wrong.
        """,
    "q32": "### Question 3.2 Kernel weights visualization [5pt]",
    "q32_text": """
        For this question, you need to visualize the kernel weights for your first convolutional
        layer. Suppose you have 5x5 kernels with 32 output channels. You will plot 32 5x5 images.

        hint: You might need to look at PyTorch documentation (or play with the PyTorch model) to
        figure out how to get the weights.
        """,
}


def hw2_cells(answers: dict[str, str | None]) -> list[tuple[str, str]]:
    """The hw2 notebook: the handout's headings, prose and given cells around `answers`."""
    m = HW2_MD
    cells: list[tuple[str, str | None]] = [
        (MD, m["title"]),
        (CODE, HW2_IMPORTS),
        (MD, m["intro"]),
        (MD, m["q1"]),
        (MD, m["q1_text"]),
        (CODE, answers["load"]),
        (MD, m["q11"]),
        (MD, m["q11_text"]),
        (CODE, answers["q11"]),
        (MD, m["q12"]),
        (MD, m["q12_text"]),
        (MD, m["q121"]),
        (MD, m["q121_text"]),
        (CODE, answers["q121"]),
        (MD, m["q122"]),
        (MD, m["q122_text"]),
        (CODE, answers["q122"]),
        (MD, m["q123"]),
        (MD, m["q123_text"]),
        (CODE, answers["q123"]),
        (MD, m["q124"]),
        (MD, m["q124_text"]),
        (CODE, answers["q124"]),
        (MD, m["q125"]),
        (MD, m["q125_text"]),
        (CODE, answers["q125"]),
        (MD, m["q126"]),
        (MD, m["q126_text"]),
        (CODE, answers["q126"]),
        (MD, answers["q126_answer"]),
        (MD, m["q13"]),
        (MD, m["q13_text"]),
        (MD, answers["q13_answer"]),
        (MD, m["q2"]),
        (CODE, HW2_LOAD_SECTION2),
        (CODE, HW2_FLATTEN),
        (MD, m["q21"]),
        (MD, m["q21_text"]),
        (CODE, HW2_KNN_IMPORTS),
        (CODE, answers["q21"]),
        (CODE, answers["q21_eval"]),
        (MD, m["q22"]),
        (MD, m["q22_text"]),
        (MD, m["q221"]),
        (MD, m["q221_text"]),
        (MD, answers["q221_answer"]),
        (MD, m["q222"]),
        (MD, m["q222_text"]),
        (CODE, HW2_LOAD_NORMALIZED),
        (CODE, answers["q222_functions"]),
        (CODE, answers["q222_tqdm"]),
        (CODE, answers["q222_sgd"]),
        (CODE, answers["q222_run"]),
        (MD, m["q3"]),
        (MD, m["q3_text"]),
        (CODE, HW2_MLP_DATA),
        (CODE, HW2_MLP_CLASS),
        (CODE, HW2_MLP_MODEL),
        (CODE, HW2_MLP_OPTS),
        (CODE, HW2_MLP_OPTIMIZER),
        (CODE, HW2_TQDM_NOTEBOOK),
        (CODE, HW2_MLP_TRAIN),
        (MD, m["q31"]),
        (MD, m["q31_text"]),
        (CODE, answers["q31_class"]),
        (CODE, HW2_CNN_MODEL),
        (CODE, answers["q31_opts"]),
        (CODE, HW2_CNN_LOADERS),
        (CODE, answers["q31_train"]),
        (CODE, answers["q31_wrong"]),
        (MD, m["q32"]),
        (MD, m["q32_text"]),
        (CODE, answers["q32_weights"]),
        (CODE, answers["q32_plot"]),
    ]
    return [(kind, source) for kind, source in cells if source is not OMIT]


# --- the handout's own answers, verbatim (PDF line wraps rejoined) ----------------------------

HANDOUT_HW2 = {
    "load": """
        # Load the MNIST dataset
        mnist = MNIST('.', download=True)
        data = mnist.train_data.numpy()
        labels = mnist.train_labels.numpy()
        print('shapes:', data.shape, labels.shape)
        plt.imshow(data[0])
        print('label:', labels[0])
        """,
    "q11": """
        digit_images = np.zeros([10, 28, 28])
        ### YOUR CODE HERE
        for i in range(10):
            img = data[labels==i][0]
            digit_images[i] = img
            plt.subplot(2,5,i+1)
            plt.imshow(img)
        ### END OF CODE
        """,
    "q121": """
        data_centered = None
        data_mean = None
        ### YOUR CODE HERE
        data_1d = data.reshape([data.shape[0], -1])
        data_mean = data_1d.mean(0)
        data_centered = data_1d - data_mean
        ### END OF CODE
        """,
    "q122": """
        data_covmat = None
        ### YOUR CODE HERE
        data_covmat = (data_centered.T @ data_centered) / (data_centered.shape[0]-1)
        ### END OF CODE
        """,
    "q123": """
        covmat_eig = None
        ### YOUR CODE HERE
        covmat_eig, covmat_eigvectors = np.linalg.eigh(data_covmat)
        covmat_eig = covmat_eig[::-1]
        plt.plot(covmat_eig)
        covmat_eigvectors = covmat_eigvectors[:, ::-1]
        ### END OF CODE
        """,
    "q124": """
        ### YOUR CODE HERE
        projected = data_centered @ covmat_eigvectors[:, :2]
        for i in range(10):
            plt.scatter(projected[labels==i][:,0], projected[labels==i][:, 1], label=str(i))
        plt.legend()
        ### END OF CODE
        """,
    "q125": """
        ### YOUR CODE HERE
        # projected = np.zeros([10, 784])
        # projected[:, :2] = (digit_images.reshape([10, -1]) - data_mean) @ covmat_eigvectors[:, :2]
        # unprojected = projected @ covmat_eigvectors.T + data_mean
        projected = (digit_images.reshape([10, -1]) - data_mean) @ covmat_eigvectors[:, :2]
        unprojected = projected @ covmat_eigvectors[:, :2].T + data_mean
        unprojected = unprojected.reshape([10, 28, 28])
        for i in range(10):
            plt.subplot(2, 5, i+1)
            plt.imshow(unprojected[i])
        ### END OF CODE
        """,
    "q126": """
        ### YOUR CODE HERE
        projected = (digit_images.reshape([10, -1]) - data_mean) @ covmat_eigvectors[:, :50]
        unprojected = projected @ covmat_eigvectors[:, :50].T + data_mean
        unprojected = unprojected.reshape([10, 28, 28])
        for i in range(10):
            plt.subplot(2, 5, i+1)
            plt.imshow(unprojected[i])
        ### END OF CODE
        """,
    "q126_answer": """
        (Your explanation)

        Any dimension between 10-100 is acceptable. From 1.2.3, we can see after the first 100
        eigenvalues, the remaining eigenvalues are very close to 0, so those components are not
        important and can be discarded/compressed.
        """,
    "q13_answer": r"""
        (Your proof here) 1. The data points are the $x$-direction derivative and $y$-direction
        derivatives. 2. The "covariance matrix" in Harris corner is the matrix $M$, assuming the
        data are zero-mean. It is computed as $XX^T$ where each column of $X$ is a pair of $I_x, I_y$
        in the neighborhood of a pixel, so it is covariance matrix. (It is actually slightly
        different from PCA in that the zero-mean is assumed. Correctly identifying this will also be
        considered as correct for this problem) 3. The principal components are the eigenvectors of
        $M$. 4. Since the data is the derivatives, PCA detects 2 dominant directions for local
        derivatives. When the dominant directions are both large, PCA tells us that there are 2
        directions with large derivatives, which implies the pixel is a corner. This explanation
        aligns with the Harris Corner algorithm.
        """,
    "q21": '''
        class KNNClassifier:
            def __init__(self, num_neighbors):
                """
                construct the classifier
                Args:
                    num_centers: number of neighbors
                """
                ### YOU CODE HERE
                self.num_neighbors = num_neighbors
                ### END OF CODE

            def fit(self, X, y):
                """
                train KNN classifier
                Args:
                    X: training data, numpy array with shape (Nxk) where N is number of data points, k is number of features
                    y: training labels, numpy array with shape (N)
                """
                ### YOU CODE HERE
                self.kdtree_ = KDTree(X)
                self.y_ = y
                ### END OF CODE
                return self

            def predict(self, X):
                """
                predict labels
                Args:
                    X: testing data, numpy array with shape (Mxk) where M is number of data points, k is number of features
                Return:
                    y: predicted labels, numpy array with shape (M)
                """
                ### YOU CODE HERE
                dist, ind = self.kdtree_.query(X, k=self.num_neighbors)
                pred = np.array([m[0] for m in mode(self.y_[ind], axis=1).mode])
                return pred
                ### END OF CODE
        ''',
    "q21_eval": HW2_KNN_EVAL,
    "q221_answer": r"""
        (Your proof here) 1.

        $$\frac{\partial J}{\partial y_i} = -\frac{y'_i}{y_i}$$

        2.

        $$\frac{\partial y_i}{\partial u_j} = \begin{cases} S(u_i)(1 - S(u_i)) & i = j \\
        -S(u_i)S(u_j) & i \neq j \end{cases} = y_i(\delta_{ij} - y_j)$$

        3.

        $$\begin{aligned}
        u &= Wx + b \\
        u_j &= \sum_{k=1}^m W_{jk}x_k + b_j \\
        \frac{\partial u_j}{\partial W_{jk}} &= x_k, \quad \frac{\partial u_j}{\partial b_j} = 1 \\
        \frac{\partial J}{\partial W_{jk}} &= \sum_i \frac{\partial J}{\partial y_i}
        \frac{\partial y_i}{\partial u_j} \frac{\partial u_j}{\partial W_{jk}} = x_k(y_j - y'_j) \\
        \frac{\partial J}{\partial b_j} &= \sum_i \frac{\partial J}{\partial y_i}
        \frac{\partial y_i}{\partial u_j} \frac{\partial u_j}{\partial b_j} = y_j - y'_j
        \end{aligned}$$

        4.

        $$\frac{\partial J}{\partial W} = (y - y')x^T, \qquad \frac{\partial J}{\partial b} = y - y'$$
        """,
    "q222_functions": '''
        def softmax(x):
            """
            softmax function
            Args:
                x: a 1-d numpy array
            Return:
                results of softmax(x)
            """
            ### YOUR CODE HERE
            x -= np.max(x)
            ex = np.exp(x)
            return ex / np.sum(ex)
            ### END OF CODE

        def J(W, b, y_true, x):
            """
            Softmax Loss function
            Args:
                W: weights (num_classes x num_features)
                b: bias (num_features)
                y_true: ground truth 1-hot label (num_classes)
                x: input data
            Return:
                J(y', y)
            """
            ### YOUR CODE HERE
            return -np.sum(y_true * softmax(W @ x + b))
            ### END OF CODE

        def dJ(W, b, y_true, x):
            """
            Softmax Loss gradient
            Args:
                W: weights (num_classes x num_features)
                b: bias (num_features)
                y_true: ground truth 1-hot label (num_classes)
                x: input data (num_features)
            Return:
                (dW, db): gradient w.r.t. W and b
            """
            ### YOUR CODE HERE
            s = softmax(W @ x + b)
            db = s - y_true

            dw = np.outer(db, x)
            return dw, db
            ### END OF CODE
        ''',
    "q222_tqdm": HW2_TQDM_NOTEBOOK,
    "q222_sgd": '''
        def SGD(f, df, Xs, ys, n_classes=10, lr=1e-3, max_epoch=20):
            """
            Args:
                f: function to optimize
                df: the gradient of the function
                Xs: input data, numpy array with shape (Nxm) where N is the number of data points, m is the number of features
                ys: true label, numpy array with shape (N x num_classes)
                lr: learning rate
                max_epoch: maximum epochs to run SGD
            Return:
                optimal weights and biases
            """
            N, m = Xs.shape
            W = np.random.rand(n_classes, m) - 0.5
            b = np.random.rand(n_classes) - 0.5

            ### YOUR CODE HERE
            for epoch in tqdm_notebook(range(max_epoch)):
                for x, y in zip(Xs, ys):
                    dW, db = dJ(W, b, y, x)
                    W -= lr * dW
                    b -= lr * db
            return W, b
            ### END OF CODE
        ''',
    "q222_run": HW2_SGD_RUN,
    "q31_class": '''
        class CNN(nn.Module):
            def __init__(self, input_size, num_classes):
                """
                init convolution and activation layers
                Args:
                    input_size: (1,28,28)
                    num_classes: 10
                """
                super(CNN, self).__init__()
                ### YOUR CODE HERE
                self.conv1 = nn.Conv2d(1, 32, 5, 1)
                self.relu1 = nn.ReLU()
                self.pool1 = nn.MaxPool2d(2)

                self.conv2 = nn.Conv2d(32, 64, 5, 1)
                self.relu2 = nn.ReLU()
                self.pool2 = nn.MaxPool2d(2)

                self.dense = nn.Linear(1024, 10)
                ### END OF CODE

            def forward(self, x):
                """
                forward function describes how input tensor is transformed to output tensor
                Args:
                    x: (Nx1x28x28) tensor
                """
                ### YOUR CODE HERE
                x = self.pool2(self.relu2(self.conv2(self.pool1(self.relu1(self.conv1(x))))))
                x = torch.flatten(x, 1)
                x = self.dense(x)
                ### END OF CODE
                return x
        ''',
    "q31_opts": """
        ### You may (and should) change these
        opts = {
            'lr': 1e-3,
            'epochs': 5,
            'batch_size': 64
        }

        ### if you cannot get 99% with SGD, Adam optimizer can help you
        optimizer = torch.optim.Adam(model.parameters(), opts['lr'])
        """,
    "q31_train": """
        for epoch in range(opts['epochs']):
            train_loss = []
            for i, (data, labels) in tqdm_notebook(enumerate(train_loader), total=len(train_loader)):
                # pass data through network
                outputs = model(data)
                loss = criterion(outputs, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                train_loss.append(loss.item())
            test_loss = []
            test_accuracy = []
            for i, (data, labels) in enumerate(test_loader):
                # pass data through network
                outputs = model(data)
                _, predicted = torch.max(outputs.data, 1)
                loss = criterion(outputs, labels)
                test_loss.append(loss.item())
                test_accuracy.append((predicted == labels).sum().item() / predicted.size(0))
            print('epoch: {}, train loss: {}, test loss: {}, test accuracy: {}'.format(epoch, np.mean(train_loss), np.mean(test_loss), np.mean(test_accuracy)))
        """,
    "q31_wrong": OMIT,
    "q32_weights": """
        weights = list(model.conv1.parameters())[0].detach().numpy().squeeze()
        """,
    "q32_plot": """
        for i in range(32):
            plt.subplot(4, 8, i+1)
            plt.imshow(weights[i])
            plt.axis('off')
        """,
}

# --- erin: fully correct ----------------------------------------------------------------------

ERIN = {
    "load": """
        # Load the MNIST dataset
        mnist = MNIST('.', download=True)
        data = mnist.data.numpy()
        labels = mnist.targets.numpy()
        print('shapes:', data.shape, labels.shape)
        plt.imshow(data[0], cmap='gray')
        print('label:', labels[0])
        """,
    "q11": """
        digit_images = np.zeros([10, 28, 28])
        ### YOUR CODE HERE
        fig, axes = plt.subplots(2, 5, figsize=(10, 4))
        for digit in range(10):
            digit_images[digit] = data[labels == digit][0]   # the first image of each class
            ax = axes.flat[digit]
            ax.imshow(digit_images[digit], cmap='gray')
            ax.set_title('digit %d' % digit)
            ax.axis('off')
        plt.show()
        ### END OF CODE
        """,
    "q121": """
        data_centered = None
        data_mean = None
        ### YOUR CODE HERE
        data_flat = data.reshape(data.shape[0], -1).astype(np.float64)   # (N, 784)
        data_mean = data_flat.mean(axis=0)                              # (784,)
        data_centered = data_flat - data_mean
        ### END OF CODE
        print(data_centered.shape, np.abs(data_centered.mean(axis=0)).max())
        """,
    "q122": """
        data_covmat = None
        ### YOUR CODE HERE
        n_samples = data_centered.shape[0]
        data_covmat = data_centered.T @ data_centered / (n_samples - 1)   # (784, 784), unbiased
        ### END OF CODE
        print(data_covmat.shape)
        """,
    "q123": """
        covmat_eig = None
        ### YOUR CODE HERE
        eigvals, eigvecs = np.linalg.eigh(data_covmat)   # symmetric matrix: ascending eigenvalues
        order = np.argsort(eigvals)[::-1]                 # descending
        covmat_eig = eigvals[order]
        covmat_eigvecs = eigvecs[:, order]                # columns are the principal components
        plt.plot(covmat_eig)
        plt.xlabel('index')
        plt.ylabel('eigenvalue')
        plt.title('Eigenvalues of the covariance matrix (descending)')
        plt.show()
        ### END OF CODE
        """,
    "q124": """
        ### YOUR CODE HERE
        projected_2d = data_centered @ covmat_eigvecs[:, :2]   # (N, 2)
        plt.figure(figsize=(8, 6))
        colors = plt.cm.tab10(np.arange(10))
        for digit in range(10):
            points = projected_2d[labels == digit]
            plt.scatter(points[:, 0], points[:, 1], s=5, color=colors[digit], label=str(digit))
        plt.xlabel('PC 1')
        plt.ylabel('PC 2')
        plt.legend(markerscale=3)
        plt.show()
        ### END OF CODE
        """,
    "q125": """
        ### YOUR CODE HERE
        def unproject(images, k):
            \"\"\"Project images (n,28,28) onto the first k principal components and back.\"\"\"
            components = covmat_eigvecs[:, :k]                        # (784, k)
            codes = (images.reshape(len(images), -1) - data_mean) @ components
            return (codes @ components.T + data_mean).reshape(-1, 28, 28)

        unprojected = unproject(digit_images, 2)   # (10, 28, 28)

        fig, axes = plt.subplots(2, 10, figsize=(15, 3.5))
        for digit in range(10):
            axes[0, digit].imshow(digit_images[digit], cmap='gray')
            axes[1, digit].imshow(unprojected[digit], cmap='gray')
            axes[0, digit].axis('off')
            axes[1, digit].axis('off')
        axes[0, 0].set_title('original', loc='left')
        axes[1, 0].set_title('from 2 components', loc='left')
        plt.show()
        ### END OF CODE
        """,
    "q126": """
        ### YOUR CODE HERE
        k = 50
        unprojected_k = unproject(digit_images, k)   # (10, 28, 28)

        fig, axes = plt.subplots(2, 10, figsize=(15, 3.5))
        for digit in range(10):
            axes[0, digit].imshow(digit_images[digit], cmap='gray')
            axes[1, digit].imshow(unprojected_k[digit], cmap='gray')
            axes[0, digit].axis('off')
            axes[1, digit].axis('off')
        axes[0, 0].set_title('original', loc='left')
        axes[1, 0].set_title('from %d components' % k, loc='left')
        plt.show()
        print('variance kept by %d components: %.3f' % (k, covmat_eig[:k].sum() / covmat_eig.sum()))
        ### END OF CODE
        """,
    "q126_answer": """
        **Answer.** With 2 components every reconstruction is a blurry blob; with 50 components
        all ten digits are clearly recognisable, and somewhere between 20 and 50 dimensions is enough
        to represent the digits reasonably well. This matches the eigenvalue plot of question 1.2.3:
        the eigenvalues decay very fast, so the first few dozen components carry almost all of the
        variance (see the printed fraction) and the remaining ones are close to zero and can be
        dropped with little loss.
        """,
    "q13_answer": r"""
        **Answer.**

        1. *Data points:* the image gradients $(I_x, I_y)$ at the pixels inside the 3×3 window
           around $(x_0, y_0)$: nine points in the 2-D gradient space.
        2. *Covariance matrix:* $M$ itself. With the box filter $M = \sum_{x,y} g g^T$ with
           $g = (I_x, I_y)^T$, i.e. $M = G G^T$ where the columns of $G$ are the nine gradients. That is
           (up to the factor $1/n$) the covariance matrix of the gradients, assuming they have zero
           mean (Harris does not subtract the mean, which is the only difference from textbook PCA).
        3. *Principal components:* the eigenvectors of $M$, i.e. the dominant directions of the
           gradients in the window; the eigenvalues $\lambda_1 \ge \lambda_2$ are the gradient
           energy along them.
        4. *Cornerness:* both eigenvalues small means a flat region; one large and one small means
           the gradients all point one way, an edge; both large means strong gradients in two
           different directions, a corner. Harris' response
           $R = \det M - k\,(\operatorname{tr} M)^2 = \lambda_1\lambda_2 - k(\lambda_1 + \lambda_2)^2$
           is large exactly when both principal variances are large.
        """,
    "q21": '''
        class KNNClassifier:
            def __init__(self, num_neighbors):
                """
                construct the classifier
                Args:
                    num_centers: number of neighbors
                """
                ### YOU CODE HERE
                self.num_neighbors = num_neighbors
                ### END OF CODE

            def fit(self, X, y):
                """
                train KNN classifier
                Args:
                    X: training data, numpy array with shape (Nxk) where N is number of data points, k is number of features
                    y: training labels, numpy array with shape (N)
                """
                ### YOU CODE HERE
                # KDTree works in float64, so uint8 pixels cannot overflow in the distances.
                self.kdtree_ = KDTree(np.asarray(X, dtype=np.float64))
                self.y_ = np.asarray(y)
                ### END OF CODE
                return self

            def predict(self, X):
                """
                predict labels
                Args:
                    X: testing data, numpy array with shape (Mxk) where M is number of data points, k is number of features
                Return:
                    y: predicted labels, numpy array with shape (M)
                """
                ### YOU CODE HERE
                X = np.asarray(X, dtype=np.float64)
                _, ind = self.kdtree_.query(X, k=self.num_neighbors)
                ind = np.asarray(ind).reshape(len(X), -1)   # k=1 returns 1-D indices: make (M, k)
                neighbor_labels = self.y_[ind]               # (M, k)
                # scipy >= 1.11 returns a 1-d .mode here; ravel also covers the old (M, 1) shape.
                return np.asarray(mode(neighbor_labels, axis=1).mode).ravel()
                ### END OF CODE
        ''',
    "q21_eval": """
        from sklearn.metrics import accuracy_score
        knn = KNNClassifier(3).fit(train_X, train_y)
        pred_y = knn.predict(test_X)
        print('KNN accuracy:', accuracy_score(test_y, pred_y))
        # k=1 works too (KDTree returns 1-D indices for k=1)
        print('1-NN accuracy:', accuracy_score(test_y, KNNClassifier(1).fit(train_X, train_y).predict(test_X)))
        """,
    "q221_answer": r"""
        **Answer.**

        1. $J = -\sum_i y'_i \log y_i$, so $\dfrac{\partial J}{\partial y_i} = -\dfrac{y'_i}{y_i}$.
        2. With $y_i = e^{u_i} / \sum_l e^{u_l}$:
           $\dfrac{\partial y_i}{\partial u_j} = y_i(\delta_{ij} - y_j)$
           ($y_i(1-y_i)$ on the diagonal, $-y_i y_j$ off it).
        3. By the chain rule, and using $\sum_i y'_i = 1$:
           $\dfrac{\partial J}{\partial u_j} = \sum_i -\dfrac{y'_i}{y_i}\, y_i(\delta_{ij} - y_j)
           = -y'_j + y_j \sum_i y'_i = y_j - y'_j$.
           Since $u_j = \sum_k W_{jk} x_k + b_j$:
           $\dfrac{\partial J}{\partial W_{jk}} = (y_j - y'_j)\, x_k$ and
           $\dfrac{\partial J}{\partial b_j} = y_j - y'_j$.
           Intuitively: the error of class $j$ (predicted minus true probability) times the input
           that fed it. Classes predicted too likely get their weights pushed down along $x$, the true
           class gets pushed up, and nothing changes when the prediction is exactly right.
        4. In matrix form: $\dfrac{\partial J}{\partial W} = (y - y')\, x^T$ (an outer product with
           the same shape as $W$) and $\dfrac{\partial J}{\partial b} = y - y'$.
        """,
    "q222_functions": '''
        def softmax(x):
            """
            softmax function
            Args:
                x: a 1-d numpy array
            Return:
                results of softmax(x)
            """
            ### YOUR CODE HERE
            z = x - np.max(x)        # a new array: the caller's x is left unchanged
            ez = np.exp(z)
            return ez / np.sum(ez)
            ### END OF CODE

        def J(W, b, y_true, x):
            """
            Softmax Loss function
            Args:
                W: weights (num_classes x num_features)
                b: bias (num_features)
                y_true: ground truth 1-hot label (num_classes)
                x: input data
            Return:
                J(y', y)
            """
            ### YOUR CODE HERE
            u = W @ x + b
            z = u - np.max(u)
            log_probs = z - np.log(np.sum(np.exp(z)))   # log softmax(u), without log(0)
            return -np.sum(y_true * log_probs)
            ### END OF CODE

        def dJ(W, b, y_true, x):
            """
            Softmax Loss gradient
            Args:
                W: weights (num_classes x num_features)
                b: bias (num_features)
                y_true: ground truth 1-hot label (num_classes)
                x: input data (num_features)
            Return:
                (dW, db): gradient w.r.t. W and b
            """
            ### YOUR CODE HERE
            y_pred = softmax(W @ x + b)
            db = y_pred - y_true       # dJ/db = y - y'
            dW = np.outer(db, x)       # dJ/dW = (y - y') x^T
            return dW, db
            ### END OF CODE
        ''',
    "q222_tqdm": """
        from tqdm.notebook import tqdm
        """,
    "q222_sgd": '''
        def SGD(f, df, Xs, ys, n_classes=10, lr=1e-3, max_epoch=20):
            """
            Args:
                f: function to optimize
                df: the gradient of the function
                Xs: input data, numpy array with shape (Nxm) where N is the number of data points, m is the number of features
                ys: true label, numpy array with shape (N x num_classes)
                lr: learning rate
                max_epoch: maximum epochs to run SGD
            Return:
                optimal weights and biases
            """
            N, m = Xs.shape
            W = np.random.rand(n_classes, m) - 0.5
            b = np.random.rand(n_classes) - 0.5

            ### YOUR CODE HERE
            progress = tqdm(range(max_epoch), desc='SGD')
            for epoch in progress:
                total_loss = 0.0
                for i in np.random.permutation(N):   # one pass over the data in random order
                    x, y = Xs[i], ys[i]
                    total_loss += f(W, b, y, x)
                    dW, db = df(W, b, y, x)
                    W -= lr * dW
                    b -= lr * db
                progress.set_postfix(mean_loss='%.4f' % (total_loss / N))
            return W, b
            ### END OF CODE
        ''',
    "q222_run": """
        np.random.seed(0)
        train_y_onehot = np.zeros((train_y.shape[0], 10))
        train_y_onehot[np.arange(len(train_y)), train_y] = 1
        W, b = SGD(J, dJ, train_X, train_y_onehot, 10, lr=1e-3, max_epoch=20)
        softmax_accuracy = accuracy_score(test_y, np.argmax(test_X @ W.T + b, axis=1))
        print('Softmax regression test accuracy:', softmax_accuracy)
        """,
    "q31_class": '''
        class CNN(nn.Module):
            def __init__(self, input_size, num_classes):
                """
                init convolution and activation layers
                Args:
                    input_size: (1,28,28)
                    num_classes: 10
                """
                super(CNN, self).__init__()
                ### YOUR CODE HERE
                channels, height, width = input_size
                self.conv1 = nn.Conv2d(channels, 32, kernel_size=5)   # 32 x 24 x 24
                self.relu1 = nn.ReLU()
                self.pool1 = nn.MaxPool2d(2)                          # 32 x 12 x 12
                self.conv2 = nn.Conv2d(32, 64, kernel_size=5)         # 64 x 8 x 8
                self.relu2 = nn.ReLU()
                self.pool2 = nn.MaxPool2d(2)                          # 64 x 4 x 4
                flat = 64 * (((height - 4) // 2 - 4) // 2) * (((width - 4) // 2 - 4) // 2)
                self.fc1 = nn.Linear(flat, 1024)                      # (linear 1024)
                self.relu3 = nn.ReLU()
                self.fc2 = nn.Linear(1024, num_classes)               # (output 10)
                ### END OF CODE

            def forward(self, x):
                """
                forward function describes how input tensor is transformed to output tensor
                Args:
                    x: (Nx1x28x28) tensor
                """
                ### YOUR CODE HERE
                x = self.pool1(self.relu1(self.conv1(x)))
                x = self.pool2(self.relu2(self.conv2(x)))
                x = torch.flatten(x, 1)
                x = self.relu3(self.fc1(x))
                x = self.fc2(x)
                ### END OF CODE
                return x

        _ = torch.manual_seed(0)   # reproducible initial weights for the model built below
        ''',
    "q31_opts": """
        ### You may (and should) change these
        opts = {
            'lr': 1e-3,
            'epochs': 5,
            'batch_size': 64
        }

        ### if you cannot get 99% with SGD, Adam optimizer can help you
        optimizer = torch.optim.Adam(model.parameters(), opts['lr'])
        """,
    "q31_train": """
        from tqdm.notebook import tqdm

        for epoch in range(opts['epochs']):
            model.train()
            train_loss = []
            for data, labels in tqdm(train_loader, desc='epoch %d' % epoch):
                outputs = model(data)
                loss = criterion(outputs, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                train_loss.append(loss.item())

            model.eval()
            correct, total, test_loss = 0, 0, 0.0
            with torch.no_grad():
                for data, labels in test_loader:
                    outputs = model(data)
                    test_loss += criterion(outputs, labels).item() * len(labels)
                    correct += (outputs.argmax(dim=1) == labels).sum().item()
                    total += len(labels)
            print('epoch: {}, train loss: {:.4f}, test loss: {:.4f}, test accuracy: {:.4f}'.format(
                epoch, np.mean(train_loss), test_loss / total, correct / total))
        """,
    "q31_wrong": """
        # Evaluate on the whole test set and plot the digits the network got wrong.
        model.eval()
        wrong_images, wrong_pred, wrong_true = [], [], []
        correct = 0
        with torch.no_grad():
            for data, labels in torch.utils.data.DataLoader(test_dataset, batch_size=256):
                predicted = model(data).argmax(dim=1)
                correct += (predicted == labels).sum().item()
                miss = predicted != labels
                wrong_images.append(data[miss, 0])
                wrong_pred.append(predicted[miss])
                wrong_true.append(labels[miss])
        wrong_images = torch.cat(wrong_images).numpy()
        wrong_pred = torch.cat(wrong_pred).numpy()
        wrong_true = torch.cat(wrong_true).numpy()
        cnn_test_accuracy = correct / len(test_dataset)
        print('CNN test accuracy: %.4f (%d of %d test digits misclassified)'
              % (cnn_test_accuracy, len(wrong_true), len(test_dataset)))

        n_show = min(len(wrong_true), 32)
        if n_show:
            plt.figure(figsize=(12, 1.8 * ((n_show + 7) // 8)))
            for i in range(n_show):
                plt.subplot((n_show + 7) // 8, 8, i + 1)
                plt.imshow(wrong_images[i], cmap='gray')
                plt.title('pred %d / true %d' % (wrong_pred[i], wrong_true[i]), fontsize=8)
                plt.axis('off')
            plt.suptitle('Misclassified test digits')
            plt.tight_layout()
            plt.show()
        """,
    "q32_weights": """
        weights = model.conv1.weight.detach().numpy()[:, 0]   # (32, 5, 5): one 5x5 kernel per channel
        print(weights.shape)
        """,
    "q32_plot": """
        plt.figure(figsize=(10, 5))
        for i in range(weights.shape[0]):
            plt.subplot(4, 8, i + 1)
            plt.imshow(weights[i], cmap='gray')
            plt.title(str(i), fontsize=8)
            plt.axis('off')
        plt.suptitle('First-layer kernels')
        plt.show()
        """,
}


# =============================================================================================

LAB9_NOTEBOOKS = {
    "alice": ALICE,
    "handout_lab9": HANDOUT_LAB9,
    "bob": BOB,
    "carol": CAROL,
    "dan": DAN,
}

HW2_NOTEBOOKS = {
    "erin": ERIN,
    "handout_hw2": HANDOUT_HW2,
}


def main() -> list[Path]:
    written = []
    for name, answers in LAB9_NOTEBOOKS.items():
        written.append(write_notebook(HERE / f"{name}.ipynb", name, lab9_cells(answers)))
    for name, answers in HW2_NOTEBOOKS.items():
        written.append(write_notebook(HERE / "hw2" / f"{name}.ipynb", name, hw2_cells(answers)))
    return written


if __name__ == "__main__":
    for path in main():
        print(path.relative_to(HERE.parent))
