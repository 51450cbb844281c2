"""SPDAttention (MAtt's log-Euclidean attention) against a scipy reference, and in ConvSPDNet."""

import numpy as np
import pytest
import scipy.linalg
import torch

from geomlayers.linalg import sym
from geomlayers.models import ConvSPDNet
from geomlayers.nn.spd import SPDAttention

pytestmark = pytest.mark.usefixtures("one_thread")


def random_spd(*shape, n, seed=0, condition=1e3):
    """SPD ``(*shape, n, n)`` with log-uniform eigenvalues in ``[1, condition]``."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(*shape, n, n, generator=gen, dtype=torch.float64))
    eig = condition ** torch.rand(*shape, n, generator=gen, dtype=torch.float64)
    return q @ torch.diag_embed(eig) @ q.transpose(-1, -2)


def reference(layer, x):
    """MAtt's formulas with scipy's logm/expm, one sample and pair at a time."""
    w = {name: getattr(layer, name).weight.detach().numpy() for name in ("query", "key", "value")}
    out = np.empty((*x.shape[:2], layer.out_dim, layer.out_dim))
    for n, seq in enumerate(x.numpy()):
        logs = {name: [scipy.linalg.logm(m.T @ s @ m).real for s in seq]
                for name, m in w.items()}
        for s, log_q in enumerate(logs["query"]):
            dist2 = np.array([np.sum((log_q - log_k) ** 2) for log_k in logs["key"]])
            score = 1 / (1 + np.log1p(dist2))
            weight = np.exp(score) / np.exp(score).sum()
            out[n, s] = scipy.linalg.expm(sum(a * v for a, v in zip(weight, logs["value"],
                                                                    strict=True)))
    return out


@pytest.mark.filterwarnings("ignore:logm result may be inaccurate")
def test_matches_scipy_reference_in_float64():
    torch.manual_seed(0)
    layer = SPDAttention(6, 4, dtype=torch.float64)
    x = random_spd(3, 5, n=6)
    np.testing.assert_allclose(layer(x).detach().numpy(), reference(layer, x), rtol=1e-10,
                               atol=1e-12)


def test_equivariant_to_permutations_of_the_sequence_and_spd():
    torch.manual_seed(1)
    layer = SPDAttention(5, 5, dtype=torch.float64)
    x = random_spd(4, 6, n=5, seed=1, condition=1e6)
    perm = torch.randperm(6)
    y = layer(x)
    torch.testing.assert_close(layer(x[:, perm]), y[:, perm], rtol=1e-10, atol=1e-12)
    assert torch.linalg.eigvalsh(y).min() > 0
    assert torch.isfinite(y).all()


def test_one_matrix_or_identical_matrices_give_the_value():
    torch.manual_seed(2)
    layer = SPDAttention(5, 3, dtype=torch.float64)
    x = random_spd(2, 1, n=5, seed=2)
    value = layer.value(x[:, 0])
    torch.testing.assert_close(layer(x)[:, 0], value, rtol=1e-10, atol=1e-12)
    same = x.expand(2, 4, 5, 5)
    torch.testing.assert_close(layer(same), value[:, None].expand(2, 4, 3, 3), rtol=1e-10,
                               atol=1e-12)
    torch.testing.assert_close(layer.weights(same), torch.full((2, 4, 4), 0.25,
                                                               dtype=torch.float64))


def test_gradcheck_including_repeated_eigenvalues():
    torch.manual_seed(3)
    layer = SPDAttention(4, 3, dtype=torch.float64)
    x = random_spd(1, 3, n=4, seed=3, condition=10.0)
    x[0, 1] = 2.0 * torch.eye(4, dtype=torch.float64)  # repeated eigenvalues
    x.requires_grad_(True)
    # sym: gradcheck perturbs single entries, which the layer refuses as not symmetric
    assert torch.autograd.gradcheck(lambda t: layer(sym(t)), (x,), eps=1e-6, atol=1e-6)


def test_bad_input_names_the_shape():
    layer = SPDAttention(5, 3)
    with pytest.raises(ValueError, match=r"\(N, S, 5, 5\)"):
        layer(torch.eye(5).expand(2, 5, 5))
    with pytest.raises(ValueError, match="out_dim <= in_dim"):
        SPDAttention(3, 5)


def test_conv_spdnet_with_attention():
    torch.manual_seed(4)
    net = ConvSPDNet(4, 64, 3, spatial_filters=6, cov_channels=5, kernel_size=9, dims=(3,),
                     bn_metric="gbw", segments=4, attention_dim=4, dtype=torch.float64).eval()
    x = torch.randn(6, 4, 64, dtype=torch.float64)
    attended = net.attention(net.covariances(x))  # (6, 4, 4, 4)
    tangent = net.spdnet.features(attended.flatten(0, 1)).reshape(6, -1)
    torch.testing.assert_close(net(x), net.spdnet.classifier(tangent))
    assert net(x).shape == (6, 3)
    with pytest.raises(ValueError, match="segments >= 2"):
        ConvSPDNet(4, 64, 3, cov_channels=5, kernel_size=9, dims=(3,), attention_dim=4)
    with pytest.raises(ValueError, match="attention_dim"):
        ConvSPDNet(4, 64, 3, cov_channels=5, kernel_size=9, dims=(3,), segments=4,
                   attention_dim=6)


def test_float32_smoke_close_to_float64():
    torch.manual_seed(5)
    layer = SPDAttention(6, 4, dtype=torch.float64)
    x = random_spd(2, 3, n=6, seed=5, condition=100.0)
    single = SPDAttention(6, 4, dtype=torch.float32)
    single.load_state_dict({k: v.float() for k, v in layer.state_dict().items()})
    y32 = single(x.float())
    assert y32.dtype == torch.float32 and torch.isfinite(y32).all()
    torch.testing.assert_close(y32.double(), layer(x), rtol=1e-4, atol=1e-4)
