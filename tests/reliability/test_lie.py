"""The MNIST loader under damaged files: an error naming the file and what to do."""

import gzip

import pytest

from geomlayers.data.affine_digits import load_mnist


def test_truncated_mnist_names_the_file(shared_data, tmp_path):
    source = shared_data / "images" / "mnist.pkl.gz"
    if not source.is_file():
        pytest.skip("MNIST is absent from the data folder")
    cut = tmp_path / "mnist.pkl.gz"
    cut.write_bytes(source.read_bytes()[:1_000_000])
    with pytest.raises(ValueError, match=r"mnist\.pkl\.gz.*truncated.*copy it again"):
        load_mnist(cut)
    renamed = tmp_path / "digits.pkl.gz"  # not the recorded name: read, then refused clearly
    renamed.write_bytes(cut.read_bytes())
    with pytest.raises(ValueError, match=r"digits\.pkl\.gz cannot be read.*copy it again"):
        load_mnist(renamed)
    garbage = tmp_path / "other.pkl.gz"
    with gzip.open(garbage, "wb") as handle:
        handle.write(b"not a pickle")
    with pytest.raises(ValueError, match="other.pkl.gz cannot be read"):
        load_mnist(garbage)


def test_affine_layers_name_both_dtypes():
    import torch

    from geomlayers.groups.affine import SL
    from geomlayers.nn.lie import AffineGroupConv, AffineLifting

    samples = SL(2).sample_grid(1, generator=0)
    lift, conv = AffineLifting(1, 2, SL(2)), AffineGroupConv(2, 2, SL(2))
    with pytest.raises(TypeError, match=r"torch.float64.*torch.float32"):
        lift(torch.rand(1, 1, 8, 8, dtype=torch.float64), samples)
    with pytest.raises(TypeError, match=r"torch.float64.*torch.float32"):
        conv(torch.rand(1, 2, 1, 8, 8, dtype=torch.float64), samples)
    assert lift(torch.rand(0, 1, 8, 8), samples).shape == (0, 2, 1, 8, 8)
