"""Cl(p, q, r) against an independent brute-force blade multiplication; PseudoOrthogonal."""

import itertools
import math

import pytest
import torch

from geomlayers.clifford import (
    CliffordAlgebra,
    OutermorphismGroup,
    quaternion_type_dims,
    twisted_conjugation,
    versor,
)
from geomlayers.groups.orthogonal import OrthogonalGroup
from geomlayers.groups.pseudo_orthogonal import (
    PseudoOrthogonal,
    outermorphism,
    reflection_matrix,
)

pytestmark = pytest.mark.usefixtures("one_thread")


SIGNATURES = [(3, 0, 0), (2, 0, 1), (1, 3, 0), (5, 0, 0), (2, 1, 1)]


# ------------------------------------------------------------------ independent reference
def brute_product(a: tuple, b: tuple, metric: tuple) -> tuple[int, tuple]:
    """e_a e_b for sorted index tuples: bubble-sort the word, contract equal neighbours."""
    word, sign = list(a) + list(b), 1
    changed = True
    while changed:
        changed = False
        for i in range(len(word) - 1):
            if word[i] > word[i + 1]:
                word[i], word[i + 1] = word[i + 1], word[i]
                sign, changed = -sign, True
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == word[i + 1]:
            sign *= metric[word[i]]
            i += 2
        else:
            out.append(word[i])
            i += 1
    return sign, tuple(out)


def brute_cayley(metric: tuple) -> torch.Tensor:
    n = len(metric)
    blades = [c for g in range(n + 1) for c in itertools.combinations(range(n), g)]
    index = {b: i for i, b in enumerate(blades)}
    table = torch.zeros(len(blades), len(blades), len(blades), dtype=torch.float64)
    for i, a in enumerate(blades):
        for j, b in enumerate(blades):
            sign, c = brute_product(a, b, metric)
            table[i, j, index[c]] = sign
    return table


def random_mv(cl, *shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, cl.dim, dtype=torch.float64, generator=gen)


# ------------------------------------------------------------------ the table
@pytest.mark.parametrize("metric", [(1, 1, 1), (0, 1, 1), (1, -1, -1, -1), (1, -1, 0, 1),
                                    (1, 1, 1, 1, 1)])
def test_cayley_equals_brute_force(metric):
    cl = CliffordAlgebra.from_metric(metric)
    assert torch.equal(cl.cayley(), brute_cayley(metric))


@pytest.mark.parametrize("backend", ["gather", "dense"])
@pytest.mark.parametrize("pqr", SIGNATURES)
def test_products_match_brute_force_einsum(pqr, backend):
    cl = CliffordAlgebra(*pqr)
    table = brute_cayley(cl.metric)
    a, b = random_mv(cl, 4, 3, seed=1), random_mv(cl, 3, seed=2)  # broadcasting
    expected = torch.einsum("...i,ijk,...j->...k", a, table, b.expand(4, 3, -1))
    assert torch.allclose(cl.geometric_product(a, b, backend=backend), expected, atol=1e-12)


@pytest.mark.parametrize("pqr", SIGNATURES)
def test_basis_squares_anticommute_associativity(pqr):
    cl = CliffordAlgebra(*pqr)
    one = cl.blade("1")
    for i in range(cl.n):
        ei = cl.basis_vector(i)
        assert torch.equal(cl.geometric_product(ei, ei), cl.metric[i] * one)
        for j in range(i + 1, cl.n):
            ej = cl.basis_vector(j)
            assert torch.equal(cl.geometric_product(ei, ej), -cl.geometric_product(ej, ei))
    a, b, c = (random_mv(cl, 5, seed=s) for s in range(3))
    left = cl.geometric_product(cl.geometric_product(a, b), c)
    right = cl.geometric_product(a, cl.geometric_product(b, c))
    assert (left - right).abs().max() < 1e-12


def test_grade_structure_of_products():
    cl = CliffordAlgebra(5)
    for r, s in [(1, 1), (1, 2), (2, 2), (2, 3), (1, 4)]:
        a = cl.grade_projection(random_mv(cl, 3, seed=r), r)
        b = cl.grade_projection(random_mv(cl, 3, seed=10 + s), s)
        prod = cl.geometric_product(a, b)
        allowed = set(range(abs(r - s), min(r + s, 2 * cl.n - r - s) + 1, 2))
        for k in range(cl.n + 1):
            norm = cl.grade_projection(prod, k).abs().max()
            assert (norm > 1e-9) == (k in allowed), (r, s, k)


@pytest.mark.parametrize("pqr", SIGNATURES)
def test_involutions_are_anti_automorphisms(pqr):
    cl = CliffordAlgebra(*pqr)
    a, b = random_mv(cl, 4, seed=3), random_mv(cl, 4, seed=4)
    gp = cl.geometric_product
    alpha, beta, gamma = cl.grade_involution, cl.reversion, cl.clifford_conjugation
    assert torch.allclose(alpha(gp(a, b)), gp(alpha(a), alpha(b)), atol=1e-12)
    assert torch.allclose(beta(gp(a, b)), gp(beta(b), beta(a)), atol=1e-12)
    assert torch.allclose(gamma(gp(a, b)), gp(gamma(b), gamma(a)), atol=1e-12)
    assert torch.equal(gamma(a), alpha(beta(a)))
    # reversion reverses the word of each blade: e_1 e_2 e_3 -> e_3 e_2 e_1
    e = [cl.basis_vector(i) for i in range(3)]
    assert torch.equal(beta(gp(gp(e[0], e[1]), e[2])), gp(gp(e[2], e[1]), e[0]))


def test_outer_and_inner_products_against_vector_formulas():
    cl = CliffordAlgebra(2, 1, 1)
    u, v, w = (cl.embed_grade(torch.randn(6, cl.n, dtype=torch.float64), 1) for _ in range(3))
    gp, op, ip = cl.geometric_product, cl.outer_product, cl.inner_product
    assert torch.allclose(op(u, v), (gp(u, v) - gp(v, u)) / 2, atol=1e-12)
    bilinear = lambda x, y: (gp(x, y) + gp(y, x))[..., :1] / 2  # noqa: E731
    assert torch.allclose(ip(u, v), bilinear(u, v) * cl.blade("1"), atol=1e-12)
    expected = bilinear(u, v) * w - bilinear(u, w) * v  # u ⌋ (v ∧ w)
    assert torch.allclose(ip(u, op(v, w)), expected, atol=1e-12)
    assert torch.allclose(op(op(u, v), w), op(u, op(v, w)), atol=1e-12)


def test_triple_wedge_is_determinant():
    cl = CliffordAlgebra(3)
    m = torch.randn(3, 3, dtype=torch.float64)
    vec = cl.embed_grade(m, 1)
    wedge = cl.outer_product(cl.outer_product(vec[0], vec[1]), vec[2])
    assert torch.allclose(wedge[-1], torch.linalg.det(m), atol=1e-12)


def test_quadratic_form_and_scalar_product():
    cl = CliffordAlgebra(1, 2, 1)
    x = random_mv(cl, 5, seed=7)
    q = cl.quadratic_form(x)
    assert torch.allclose(q, cl.geometric_product(cl.reversion(x), x)[..., 0], atol=1e-12)
    assert torch.allclose(q, cl.quadratic_form(x, "grade").sum(-1), atol=1e-12)
    assert torch.allclose(q, cl.quadratic_form(x, "type").sum(-1), atol=1e-12)
    y = random_mv(cl, 5, seed=8)
    assert torch.allclose(cl.scalar_product(x, y), cl.geometric_product(x, y)[..., 0])
    assert torch.allclose(cl.norm(x), q.abs().sqrt(), atol=1e-6)


# ------------------------------------------------------------------ subspaces and paths
def _paper_closed_form(n):
    """The GLGENN code's formula: float closed form with int() truncation."""
    d1 = int(2 ** (n - 2) + 2 ** (n / 2 - 1) * math.sin(math.pi * n / 4))
    d2 = int(2 ** (n - 2) - 2 ** (n / 2 - 1) * math.cos(math.pi * n / 4))
    return (int(2 ** (n - 1) - d2), d1, d2, int(2 ** (n - 1) - d1))


def test_quaternion_type_dims_exact_and_paper_formula_wrong_for_n2():
    assert quaternion_type_dims(2) == (1, 2, 1, 0)
    assert _paper_closed_form(2) == (2, 2, 0, 0)  # the bug the notes found
    for n in [1, *range(3, 16)]:
        assert quaternion_type_dims(n) == _paper_closed_form(n)
    assert quaternion_type_dims(5) == (6, 6, 10, 10)
    assert quaternion_type_dims(7) == (36, 28, 28, 36)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_types_are_joint_eigenspaces_of_involutions(n):
    cl = CliffordAlgebra(n)
    ones = torch.ones(cl.dim, dtype=torch.float64)
    alpha, beta = cl.grade_involution(ones), cl.reversion(ones)
    signs = {0: (1, 1), 1: (-1, 1), 2: (1, -1), 3: (-1, -1)}
    types = cl.subspace_index("type")
    for blade in range(cl.dim):
        assert (alpha[blade].item(), beta[blade].item()) == signs[int(types[blade])]
    counts = torch.bincount(types, minlength=4).tolist()
    assert tuple(counts) == cl.type_dims()


@pytest.mark.parametrize("n", range(1, 8))
def test_cgenn_path_count(n):
    assert int(CliffordAlgebra(n).product_paths("grade").sum()) == math.comb(n + 3, 3)


@pytest.mark.parametrize(("n", "count"), [(3, 20), (4, 29), (5, 32), (7, 32)])
def test_glgenn_type_path_count(n, count):
    assert int(CliffordAlgebra(n).product_paths("type").sum()) == count


# ------------------------------------------------------------------ groups and actions
@pytest.mark.parametrize("pqr", [(5, 0, 0), (1, 3, 0), (2, 0, 1), (2, 1, 2)])
def test_pseudo_orthogonal_sample_contains_lie_algebra(pqr):
    group = PseudoOrthogonal(*pqr)
    g = group.sample(64, generator=0)
    metric = torch.diag(group.metric())
    assert group.contains(g)
    assert torch.allclose(g.transpose(-1, -2) @ metric @ g, metric.expand_as(g), atol=1e-9)
    dets = torch.linalg.det(g)
    assert (dets < 0).any() and (dets > 0).any()
    algebra = group.lie_algebra()
    m, r = group.p + group.q, group.r
    assert group.dimension == m * (m - 1) // 2 + r * group.n
    assert torch.allclose(algebra.transpose(-1, -2) @ metric + metric @ algebra,
                          torch.zeros_like(algebra))
    assert group.contains(torch.linalg.matrix_exp(0.3 * algebra.sum(0)))
    assert group.contains(group.generators())
    assert not group.contains(torch.randn(3, group.n, group.n, dtype=torch.float64))


def test_degenerate_group_is_all_isometries_not_just_clifford_group():
    group = PseudoOrthogonal(2, 0, 1)
    g = group.sample(32, generator=1)
    assert not torch.allclose(g[:, 2, 2].abs(), torch.ones(32, dtype=torch.float64))
    assert g[:, 2, :2].abs().max() > 0.1  # radical components added to e1, e2
    assert torch.equal(g[:, :2, 2], torch.zeros(32, 2, dtype=torch.float64))
    assert not group.contains(torch.diag(torch.tensor([1.0, 1.0, 0.0])).double())  # singular
    moved_radical = torch.eye(3, dtype=torch.float64)
    moved_radical[0, 2] = 1.0  # e3 -> e3 + e1: q(e3) would become 1
    assert not group.contains(moved_radical)
    cl = CliffordAlgebra(2, 0, 1)
    a, b = random_mv(cl, seed=1), random_mv(cl, seed=2)
    omega = outermorphism(moved_radical)
    assert not torch.allclose(omega @ cl.geometric_product(a, b),
                              cl.geometric_product(omega @ a, omega @ b), atol=1e-6)


@pytest.mark.parametrize("pqr", [(5, 0, 0), (1, 3, 0), (2, 0, 1)])
def test_outermorphism_is_graded_algebra_automorphism(pqr):
    cl, group = CliffordAlgebra(*pqr), PseudoOrthogonal(*pqr)
    g = group.sample(6, generator=2)
    omega = outermorphism(g)
    assert torch.allclose(omega[:, 1 : cl.n + 1, 1 : cl.n + 1], g)
    h = group.sample(6, generator=3)
    assert torch.allclose(outermorphism(g @ h), omega @ outermorphism(h), atol=1e-10)
    grades = cl.grades
    assert torch.equal(omega[:, grades.unsqueeze(1) != grades.unsqueeze(0)],
                       torch.zeros_like(omega[:, grades.unsqueeze(1) != grades.unsqueeze(0)]))
    a, b = random_mv(cl, 6, seed=4), random_mv(cl, 6, seed=5)
    lhs = group.act_multivector(g, cl.geometric_product(a, b))
    rhs = cl.geometric_product(group.act_multivector(g, a), group.act_multivector(g, b))
    assert (lhs - rhs).abs().max() < 1e-10 * max(1.0, float(lhs.abs().max()))
    q = cl.quadratic_form(a, "grade")
    assert torch.allclose(cl.quadratic_form(group.act_multivector(g, a), "grade"), q,
                          atol=1e-9 * float(q.abs().max()))


@pytest.mark.parametrize("pqr", [(5, 0, 0), (1, 3, 0)])
def test_twisted_conjugation_by_versors_is_outermorphism_of_reflections(pqr):
    cl = CliffordAlgebra(*pqr)
    metric = PseudoOrthogonal(*pqr).metric()
    gen = torch.Generator().manual_seed(0)
    vectors = torch.randn(3, cl.n, dtype=torch.float64, generator=gen)
    x = random_mv(cl, 4, seed=6)
    for k in (1, 2, 3):  # reflection, rotation/boost, improper
        w = versor(cl, vectors[:k])
        matrix = torch.eye(cl.n, dtype=torch.float64)
        for v in vectors[:k]:
            matrix = matrix @ reflection_matrix(v, metric)
        expected = x @ outermorphism(matrix).T
        got = twisted_conjugation(cl, w, x, parity=k % 2)
        assert (got - expected).abs().max() < 1e-10 * max(1.0, float(expected.abs().max()))


def test_outermorphism_group_wrapper():
    group = OutermorphismGroup(OrthogonalGroup(3))
    g = group.sample(4, generator=0)
    assert group.n == 8 and group.contains(g)
    assert not group.contains(torch.eye(8, dtype=torch.float64) * 2)
    assert not group.is_finite


# ------------------------------------------------------------------ misc and errors
def test_names_repr_and_float32():
    cl = CliffordAlgebra(2, 0, 1)
    assert cl.blade_names == ("1", "e1", "e2", "e3", "e12", "e13", "e23", "e123")
    assert repr(cl) == "CliffordAlgebra(2, 0, 1)"
    assert CliffordAlgebra.from_metric((1, 1, 0)) == cl
    assert repr(CliffordAlgebra.from_metric((0, 1, 1))) == "CliffordAlgebra.from_metric((0, 1, 1))"
    assert hash(cl) == hash(CliffordAlgebra(2, 0, 1))
    x = torch.randn(3, 8)
    assert cl.geometric_product(x, x).dtype == torch.float32
    assert cl.grade_slice(2) == slice(4, 7)
    assert torch.equal(cl.embed_grade(torch.ones(3), 2)[4:7], torch.ones(3))


def test_bad_inputs():
    with pytest.raises(ValueError, match="p must be an int"):
        CliffordAlgebra(-1)
    with pytest.raises(ValueError, match="p \\+ q \\+ r"):
        CliffordAlgebra(0)
    with pytest.raises(ValueError, match="p \\+ q \\+ r"):
        CliffordAlgebra(11)
    with pytest.raises(ValueError, match=r"metric\[0\]"):
        CliffordAlgebra.from_metric((2, 1))
    cl = CliffordAlgebra(3)
    with pytest.raises(ValueError, match="shape \\(..., 8\\)"):
        cl.geometric_product(torch.zeros(4), torch.zeros(8))
    with pytest.raises(TypeError, match="floating-point"):
        cl.reversion(torch.zeros(8, dtype=torch.int64))
    with pytest.raises(TypeError, match="same dtype"):
        cl.geometric_product(torch.zeros(8), torch.zeros(8, dtype=torch.float64))
    with pytest.raises(ValueError, match="grade must be"):
        cl.grade_projection(torch.zeros(8), 4)
    with pytest.raises(ValueError, match="unknown blade"):
        cl.blade("e4")
    with pytest.raises(ValueError, match="backend"):
        cl.geometric_product(torch.zeros(8), torch.zeros(8), backend="fast")
    with pytest.raises(ValueError, match="subspaces"):
        cl.subspace_index("grades")
    with pytest.raises(ValueError, match="no versor inverse"):
        CliffordAlgebra(1, 1).reverse_norm_inverse(torch.tensor([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="non-null"):
        reflection_matrix(torch.tensor([1.0, 1.0]), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="r must be an int"):
        PseudoOrthogonal(2, 0, -1)
    with pytest.raises(ValueError, match="m \\(number of samples\\)"):
        PseudoOrthogonal(3).sample(0)
