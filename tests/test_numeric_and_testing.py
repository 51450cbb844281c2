import pytest
import torch

from geomlayers.bases import numeric_basis
from geomlayers.groups import (
    OrthogonalGroup,
    PermutationGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
)
from geomlayers.testing import assert_equivariant, equivariance_error
from tests.helpers import dims_table, matrix_fn


@pytest.mark.parametrize(
    "group, k, l, expected",
    [
        (SpecialOrthogonalGroup(3), 2, 1, 1),  # cross product
        (SpecialOrthogonalGroup(2), 1, 1, 2),  # identity and 90° rotation
        (OrthogonalGroup(2), 3, 3, 10),
        (OrthogonalGroup(3), 1, 2, 0),
        (OrthogonalGroup(3), 2, 2, 3),
    ],
)
def test_numeric_anchors_for_continuous_groups(group, k, l, expected):
    basis = numeric_basis(group, k, l, max_size=5000)
    assert len(basis) == expected
    for matrix in basis.dense():
        assert_equivariant(matrix_fn(matrix, group.n, k, l), group, in_order=k, out_order=l)


def test_numeric_dims_match_tables_for_orthogonal_groups():
    table = dims_table()
    for family, cls in (("O(n)", OrthogonalGroup), ("SO(n)", SpecialOrthogonalGroup)):
        for n in ("2", "3"):
            for r in range(5):
                assert len(numeric_basis(cls(int(n)), r // 2, r - r // 2)) == table[family][n][r]


def test_numeric_basis_is_orthonormal():
    dense = numeric_basis(SymmetricGroup(3), 2, 1).dense().reshape(5, -1)
    torch.testing.assert_close(dense @ dense.T, torch.eye(5, dtype=torch.float64))


def test_numeric_guard():
    with pytest.raises(ValueError, match="max_size"):
        numeric_basis(SymmetricGroup(10), 2, 2)


def test_assert_equivariant_catches_a_broken_function():
    group = SymmetricGroup(4)
    weights = torch.randn(4, 4, dtype=torch.float64)
    with pytest.raises(AssertionError, match="output 0 is not equivariant"):
        assert_equivariant(lambda x: x @ weights.T, group, in_order=1, out_order=1)
    # several outputs, one per order; worst error reported per output
    errors = equivariance_error(
        lambda x: (x.sum(-1), x @ weights.T), group, in_order=1, out_order=(0, 1)
    )
    assert errors[0] < 1e-12 < 0.1 < errors[1]


def test_assert_equivariant_float32_module():
    layer = torch.nn.Linear(1, 1).to(torch.float32)
    group = PermutationGroup([(1, 2, 0)])
    fn = lambda x: layer(x.unsqueeze(-1)).squeeze(-1)  # noqa: E731  pointwise: equivariant
    x = torch.randn(2, 3, dtype=torch.float32)
    assert_equivariant(fn, group, in_order=1, out_order=1, x=x, tol=1e-6)


# ------------------------------------------------------------------ declared representations

from geomlayers.groups import (  # noqa: E402
    EuclideanGroup,
    GLPlus,
    PseudoOrthogonal,
    Subspaces,
    TensorPower,
)


class Declared(torch.nn.Module):
    """A module that declares its group and representations (what layers do)."""

    def __init__(self, fn, group, rep_in, rep_out):
        super().__init__()
        self.fn, self.group, self.rep_in, self.rep_out = fn, group, rep_in, rep_out

    def forward(self, *x):
        return self.fn(*x)


def _gauss(*shape):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5))


def _blade_scaling(x):  # Ω(A) is block diagonal by grade: scaling grades is equivariant
    scale = torch.tensor([1.0, 2.0, 2.0, 2.0, -1.0, -1.0, -1.0, 3.0], dtype=x.dtype)
    return x * scale


def _other_subspace(u):  # the same span, another basis
    q = torch.linalg.qr(_gauss(u.shape[-1], u.shape[-1]))[0]
    return u @ q


W3 = _gauss(3, 3)
#: (name, group, rep_in, rep_out, equivariant fn, broken fn)
CASES = [
    ("tensor power", SymmetricGroup(5), "T1", "T1",
     lambda x: 2 * x + x.sum(-1, keepdim=True), lambda x: x @ _gauss(5, 5).T),
    ("order 2 -> trivial", SymmetricGroup(4), "2xT2", "trivial",
     lambda x: x.sum((-1, -2)), lambda x: x[..., 0, 1]),
    ("vectors", OrthogonalGroup(3), "vectors", "vectors",
     lambda v: v * v.norm(dim=-1, keepdim=True), lambda v: v + torch.tensor([1.0, 0, 0])),
    ("points -> vectors", EuclideanGroup(3), "4xpoints", "4xvectors",
     lambda p: p - p.mean(-2, keepdim=True), lambda p: p - p[..., :1, :].detach() * 0),
    ("points -> points", EuclideanGroup(2), "points", "points",
     lambda p: p.mean(-2, keepdim=True).expand_as(p), lambda p: p.abs()),
    ("congruence", OrthogonalGroup(3), "congruence", "congruence",
     lambda x: x @ x, lambda x: torch.diag_embed(torch.diagonal(x, dim1=-2, dim2=-1))),
    ("congruence under GL+", GLPlus(3), "congruence", "congruence",
     lambda x: 3 * x, lambda x: x @ x),
    ("subspaces", OrthogonalGroup(4), Subspaces(p=2), Subspaces(),
     _other_subspace, lambda u: torch.linalg.qr(u + 0.5)[0]),
    ("projectors", OrthogonalGroup(4), "projectors", "projectors",
     lambda p: torch.eye(4, dtype=p.dtype) - p, lambda p: p @ W3.new_ones(4, 4) / 4),
    ("multivectors", PseudoOrthogonal(2, 1), "multivectors", "multivectors",
     _blade_scaling, lambda x: x.roll(1, -1)),
    ("multivectors -> invariant", OrthogonalGroup(3), "multivectors", "trivial",
     lambda x: x[..., 0] + (x[..., 1:4] ** 2).sum(-1), lambda x: x[..., 1]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_declared_module_passes_and_broken_module_fails(case):
    _, group, rep_in, rep_out, good, bad = case
    errors = assert_equivariant(Declared(good, group, rep_in, rep_out))
    assert len(errors) == 1 and errors[0] < 1e-10
    with pytest.raises(AssertionError, match="output 0 is not equivariant under"):
        assert_equivariant(Declared(bad, group, rep_in, rep_out))
    # explicit arguments give the same answer as the declaration
    assert equivariance_error(good, group, rep_in=rep_in, rep_out=rep_out) == errors


def test_several_inputs_and_outputs():
    group = EuclideanGroup(3)

    def fn(points, velocities):
        return points + velocities, velocities.norm(dim=-1), velocities + 1.0

    module = Declared(fn, group, ("points", "vectors"), ("points", "trivial", "vectors"))
    errors = equivariance_error(module, batch_shape=(2, 5))
    assert errors[0] < 1e-12 and errors[1] < 1e-12 and errors[2] > 0.1
    with pytest.raises(AssertionError, match="output 2 .*as vectors"):
        assert_equivariant(module)


def test_explicit_arguments_override_the_declaration():
    module = Declared(lambda x: x.sum(-1), SymmetricGroup(4), "T1", "T1")
    assert_equivariant(module, rep_out="trivial")
    assert_equivariant(module, "S4", in_order=1, out_order=0)
    with pytest.raises(TypeError, match="rep_in or in_order"):
        assert_equivariant(module, rep_in="T1", in_order=1)


def test_undeclared_module_says_what_is_missing():
    with pytest.raises(TypeError, match="does not declare group, rep_in, rep_out"):
        assert_equivariant(torch.nn.Identity())


def test_float32_module_gets_float32_inputs_and_tolerance():
    layer = torch.nn.Linear(1, 1)  # float32 parameters, pointwise: S_n equivariant
    module = Declared(lambda x: layer(x.unsqueeze(-1)).squeeze(-1), SymmetricGroup(3),
                      TensorPower(1), TensorPower(1))
    module.layer = layer
    errors = assert_equivariant(module)
    assert errors[0] < 1e-6


def test_nan_output_is_reported_not_passed():
    module = Declared(lambda x: x * float("nan"), SymmetricGroup(3), "T1", "T1")
    with pytest.raises(AssertionError, match="inf"):
        assert_equivariant(module)


# ------------------------------------------------------------------ real layers of each family
# The layers are given their declarations here when they do not carry them yet; the
# tester must pass the equivariant ones and catch the ones that are not equivariant.


def _declare(layer, group, rep_in, rep_out):
    for name, value in (("group", group), ("rep_in", rep_in), ("rep_out", rep_out)):
        if not hasattr(layer, name):
            setattr(layer, name, value)
    return layer


def test_real_diagram_layer():
    from geomlayers.nn import EquivariantLinear

    layer = EquivariantLinear(SymmetricGroup(5), 2, 2, 2, 3).double()
    _declare(layer, SymmetricGroup(5), TensorPower(2, channels=2), TensorPower(2, channels=3))
    assert assert_equivariant(layer)[0] < 1e-10
    float32 = EquivariantLinear(SymmetricGroup(5), 2, 1, 2, 3)
    _declare(float32, SymmetricGroup(5), TensorPower(2, channels=2), TensorPower(1, channels=3))
    assert assert_equivariant(float32)[0] < 1e-5


def test_real_spd_layers():
    from geomlayers.nn import BiMap, LogEig, ReEig

    for layer in (LogEig(n=4), ReEig(threshold=0.3, n=4)):  # declare O(4) congruence
        assert layer.group == OrthogonalGroup(4)
        assert assert_equivariant(layer, batch_shape=(2, 3))[0] < 1e-10
        with pytest.raises(AssertionError, match="not equivariant under GL\\+4"):
            assert_equivariant(layer, GLPlus(4), batch_shape=(2, 3))
    bimap = _declare(BiMap(4, 4).double(), OrthogonalGroup(4), "congruence", "congruence")
    with pytest.raises(AssertionError, match="not equivariant under O4"):
        assert_equivariant(bimap)


def test_real_grassmann_layers():
    from geomlayers.nn import ProjMap, ReOrth

    projmap = ProjMap(n=5)  # declares O(5), subspaces -> congruence
    assert assert_equivariant(projmap)[0] < 1e-10
    # ReOrth returns a basis of the span of its input: even GL(n)-equivariant on subspaces
    reorth = ReOrth(n=5)
    assert assert_equivariant(reorth)[0] < 1e-10
    assert assert_equivariant(reorth, GLPlus(5), rep_in=Subspaces(p=2))[0] < 1e-8


def test_real_clifford_layer():
    from geomlayers.clifford import CliffordAlgebra
    from geomlayers.nn import CliffordLinear

    layer = CliffordLinear(CliffordAlgebra(2, 1), 3, 4).double()
    torch.nn.init.normal_(layer.weight, generator=torch.Generator().manual_seed(0))
    _declare(layer, PseudoOrthogonal(2, 1), "3xmultivectors", "4xmultivectors")
    assert assert_equivariant(layer, batch_shape=(2,))[0] < 1e-10


def test_real_frame_averaging():
    from geomlayers.nn import FrameAveraging

    torch.manual_seed(0)
    backbone = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                                   torch.nn.Linear(8, 3)).double()
    fa = FrameAveraging(backbone, "E3", mode="equivariant", output_type="point")
    _declare(fa, EuclideanGroup(3), "points", "points")
    assert assert_equivariant(fa, batch_shape=(2, 6))[0] < 1e-9
    with pytest.raises(AssertionError, match="not equivariant under E3"):
        assert_equivariant(_declare(backbone, EuclideanGroup(3), "points", "points"),
                           batch_shape=(2, 6))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_module_on_cuda():
    layer = torch.nn.Linear(1, 1).double().cuda()
    module = Declared(lambda x: layer(x.unsqueeze(-1)).squeeze(-1), EuclideanGroup(3),
                      "vectors", "vectors")
    module.layer = layer
    with pytest.raises(AssertionError, match="not equivariant"):  # the bias breaks it
        assert_equivariant(module)
    torch.nn.init.zeros_(layer.bias)
    assert assert_equivariant(module)[0] < 1e-10


def test_size_free_module_needs_the_group():
    module = Declared(lambda v: 2 * v, None, "vectors", "vectors")
    with pytest.raises(TypeError, match="group is None"):
        assert_equivariant(module)
    assert assert_equivariant(module, OrthogonalGroup(4))[0] < 1e-12


def test_module_with_untyped_inputs_needs_rep_in():
    module = Declared(lambda v: 2 * v, OrthogonalGroup(3), None, "vectors")
    with pytest.raises(TypeError, match="rep_in is unknown"):
        assert_equivariant(module)
    assert assert_equivariant(module, rep_in="vectors")[0] < 1e-12
