"""The affNIST-like surrogate (geomlayers.data.affine_digits) against scipy.ndimage."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from geomlayers.data.affine_digits import affine_digits, load_mnist, pad_digits


@pytest.fixture(scope="module")
def digits(shared_data):
    data = load_mnist(shared_data / "images" / "mnist.pkl.gz")
    assert data["train"][0].shape == (50000, 28, 28) and len(data["test"][1]) == 10000
    return data["test"][0][:60], data["test"][1][:60]


def test_surrogate_matches_scipy_affine_transform(digits):
    x, y = digits
    warped, labels, maps = affine_digits(x, y, copies=2, seed=0)
    assert warped.shape == (120, 40, 40) and torch.equal(labels, y.repeat_interleave(2))
    canvas = pad_digits(x).repeat_interleave(2, 0).double().numpy()
    for i in range(0, 120, 17):
        a, t = maps[i, :2, :2].numpy(), maps[i, :2, 2].numpy()
        inv = np.linalg.inv(a)
        ref = ndimage.affine_transform(canvas[i], inv, offset=-inv @ t, order=1)
        assert np.abs(ref - warped[i].numpy()).max() < 1e-5


def test_surrogate_ranges_ink_and_balance(digits):
    x, y = digits
    warped, labels, maps = affine_digits(x, y, copies=4, seed=1)
    linear = maps[:, :2, :2]
    det = torch.linalg.det(linear)
    assert torch.all(det > 0.8**2 * 0.99) and torch.all(det < 1.2**2 * 1.01)
    mass = pad_digits(x).repeat_interleave(4, 0).sum((1, 2)).double()
    ratio = warped.sum((1, 2)).double() / (mass * det)
    assert torch.all((ratio - 1).abs() < 0.03)  # ink stays inside the 40×40 box
    border = torch.cat([warped[:, 0], warped[:, -1], warped[:, :, 0], warped[:, :, -1]], 1)
    assert float(border.max()) < 0.1
    assert torch.equal(torch.bincount(labels, minlength=10), 4 * torch.bincount(y, minlength=10))
    again, _, maps2 = affine_digits(x, y, copies=4, seed=1)
    assert torch.equal(again, warped) and torch.equal(maps2, maps)


def test_bad_input():
    with pytest.raises(ValueError, match="images must be"):
        pad_digits(torch.zeros(2, 50, 50), size=40)
    with pytest.raises(FileNotFoundError, match="GEOMLAYERS_DATA_DIR"):
        load_mnist("/nonexistent/mnist.pkl.gz")
