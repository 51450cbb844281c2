// The S_n 2 -> 2 layer (15 partition diagrams) as one forward and one backward function.
//
//   fused22_forward(x (B, C, n, n), w_full (D, 2C), w_vec (3D, 5C), scale?, bias3?)
//       -> (out (B, D, n, n), S (C, B m), K (C, B m'), vec (B n, 5C))
//   fused22_backward(grad, S, K, vec, w_full, w_vec, scale?) -> (grad_x, grad_w_full,
//       grad_w_vec, grad_bias3)
//
// The identity and transpose terms, Y = W_A X + W_B X^T, are computed on the symmetric and
// antisymmetric parts of X: with P = W_p (X + X^T), Q = W_q (X - X^T), W_p = (W_A + W_B) / 2,
// W_q = (W_A - W_B) / 2, Y[i, j] = P[i, j] + Q[i, j] and Y[j, i] = P[i, j] - Q[i, j]. P is
// symmetric and Q antisymmetric, so only their upper triangles (m = n(n+1)/2 and
// m' = n(n-1)/2 columns per sample) are multiplied: the two matmuls together cost one
// (C, n^2) channel matmul instead of two. The triangles are laid out channel-major over the
// whole batch ((C, B m)), so each is ONE matmul, and the packing pass also produces the row
// sums, column sums and diagonal that the order <= 1 diagrams need (Maron et al. 2019,
// arXiv 1812.09902; the diagram bookkeeping is geomlayers/ops/fused.py). The unpacking pass
// writes each output entry once: its P +- Q value plus the broadcast row, column and diagonal
// terms. The backward is the same two passes on the output gradient (the adjoint of an
// unpack is a pack), with diagonal factors swapped.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <tuple>

namespace geomlayers {
namespace {

// x (B, C, n, n) -> S (C, B m): x_ij + x_ji on i < j, diag_factor * x_ii on the diagonal;
// K (C, B m'): x_ij - x_ji on i < j; sums (B, 3, C, n): row sums, column sums, diagonal.
std::tuple<at::Tensor, at::Tensor, at::Tensor> pack(const at::Tensor& x, double diag_factor) {
  const int64_t batch = x.size(0), channels = x.size(1), n = x.size(2);
  const int64_t m = n * (n + 1) / 2, mk = n * (n - 1) / 2;
  at::Tensor input = x.contiguous();
  at::Tensor sym = at::empty({channels, batch * m}, x.options());
  at::Tensor anti = at::empty({channels, batch * mk}, x.options());
  at::Tensor sums = at::empty({batch, 3, channels, n}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused22_pack", [&] {
    const scalar_t* in = input.data_ptr<scalar_t>();
    scalar_t* s_out = sym.data_ptr<scalar_t>();
    scalar_t* k_out = anti.data_ptr<scalar_t>();
    scalar_t* r_out = sums.data_ptr<scalar_t>();
    const auto factor = static_cast<scalar_t>(diag_factor);
    at::parallel_for(0, batch * channels, 16, [&](int64_t begin, int64_t end) {
      for (int64_t index = begin; index < end; ++index) {
        const int64_t b = index / channels, c = index % channels;
        const scalar_t* a = in + index * n * n;
        scalar_t* s = s_out + c * batch * m + b * m;
        scalar_t* k = k_out + c * batch * mk + b * mk;
        scalar_t* rows = r_out + ((b * 3 + 0) * channels + c) * n;
        scalar_t* cols = r_out + ((b * 3 + 1) * channels + c) * n;
        scalar_t* diag = r_out + ((b * 3 + 2) * channels + c) * n;
        for (int64_t j = 0; j < n; ++j) cols[j] = 0;
        for (int64_t i = 0; i < n; ++i) {
          const scalar_t* row = a + i * n;
          scalar_t total = 0;
          for (int64_t j = 0; j < n; ++j) {
            total += row[j];
            cols[j] += row[j];
          }
          rows[i] = total;
          diag[i] = row[i];
          *s++ = factor * row[i];
          for (int64_t j = i + 1; j < n; ++j) {
            const scalar_t upper = row[j], lower = a[j * n + i];
            *s++ = upper + lower;
            *k++ = upper - lower;
          }
        }
      }
    });
  });
  return {sym, anti, sums};
}

// The adjoint layout of pack: out (B, D, n, n) with out_ij = P + Q + row_i + col_j and
// out_ji = P - Q + row_j + col_i (i < j), out_ii = diag_factor * P_ii + row_i + col_i + diag_i,
// from P (D, B m), Q (D, B m') and terms (B, 3, D, n) = [row, col, diag] (any strides).
at::Tensor unpack(const at::Tensor& sym, const at::Tensor& anti, const at::Tensor& terms,
                  int64_t batch, int64_t n, double diag_factor) {
  const int64_t channels = sym.size(0);
  const int64_t m = n * (n + 1) / 2, mk = n * (n - 1) / 2;
  at::Tensor p_in = sym.contiguous(), q_in = anti.contiguous();
  at::Tensor t_in = terms.contiguous();
  at::Tensor out = at::empty({batch, channels, n, n}, sym.options());
  AT_DISPATCH_FLOATING_TYPES(sym.scalar_type(), "fused22_unpack", [&] {
    const scalar_t* p_all = p_in.data_ptr<scalar_t>();
    const scalar_t* q_all = q_in.data_ptr<scalar_t>();
    const scalar_t* t_all = t_in.data_ptr<scalar_t>();
    scalar_t* o_all = out.data_ptr<scalar_t>();
    const auto factor = static_cast<scalar_t>(diag_factor);
    at::parallel_for(0, batch * channels, 16, [&](int64_t begin, int64_t end) {
      for (int64_t index = begin; index < end; ++index) {
        const int64_t b = index / channels, d = index % channels;
        const scalar_t* p = p_all + d * batch * m + b * m;
        const scalar_t* q = q_all + d * batch * mk + b * mk;
        const scalar_t* row = t_all + ((b * 3 + 0) * channels + d) * n;
        const scalar_t* col = t_all + ((b * 3 + 1) * channels + d) * n;
        const scalar_t* diag = t_all + ((b * 3 + 2) * channels + d) * n;
        scalar_t* o = o_all + index * n * n;
        for (int64_t i = 0; i < n; ++i) {
          o[i * n + i] = factor * (*p++) + row[i] + col[i] + diag[i];
          for (int64_t j = i + 1; j < n; ++j) {
            const scalar_t plus = *p++, minus = *q++;
            o[i * n + j] = plus + minus + row[i] + col[j];
            o[j * n + i] = plus - minus + row[j] + col[i];
          }
        }
      }
    });
  });
  return out;
}

void check_inputs(const at::Tensor& x, const at::Tensor& w_full, const at::Tensor& w_vec) {
  TORCH_CHECK(x.dim() == 4 && x.size(2) == x.size(3), "fused22: x must be (B, C, n, n)");
  const int64_t channels = x.size(1);
  TORCH_CHECK(w_full.dim() == 2 && w_full.size(1) == 2 * channels,
              "fused22: w_full must be (D, 2C)");
  TORCH_CHECK(w_vec.dim() == 2 && w_vec.size(0) == 3 * w_full.size(0) &&
                  w_vec.size(1) == 5 * channels,
              "fused22: w_vec must be (3D, 5C)");
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> fused22_forward_cpu(
    const at::Tensor& x, const at::Tensor& w_full, const at::Tensor& w_vec,
    const c10::optional<at::Tensor>& scale, const c10::optional<at::Tensor>& bias3) {
  check_inputs(x, w_full, w_vec);
  const int64_t batch = x.size(0), channels = x.size(1), n = x.size(2);
  const int64_t out_channels = w_full.size(0);
  auto [sym, anti, sums] = pack(x, 2.0);
  // (B, n, C) each: the node axis first, so the order-1 mixing is one (B n, 5C) matmul
  at::Tensor rows = sums.select(1, 0).transpose(1, 2);
  at::Tensor cols = sums.select(1, 1).transpose(1, 2);
  at::Tensor diag = sums.select(1, 2).transpose(1, 2);
  at::Tensor total = rows.sum(1, true), trace = diag.sum(1, true);
  if (scale.has_value()) {
    const at::Tensor& s = *scale;
    rows = rows * s;
    cols = cols * s;
    total = total * (s * s);
    trace = trace * s;
  }
  at::Tensor vec = at::cat({rows, cols, diag, total.expand({batch, n, channels}),
                            trace.expand({batch, n, channels})}, -1)
                       .reshape({batch * n, 5 * channels});
  at::Tensor small = bias3.has_value() ? at::addmm(*bias3, vec, w_vec.t())
                                       : at::mm(vec, w_vec.t());
  // (B n, 3D) -> (B, 3, D, n): [a (row-wise), b (column-wise), d (diagonal)]
  at::Tensor terms = small.reshape({batch, n, 3, out_channels}).permute({0, 2, 3, 1});
  at::Tensor w_a = w_full.narrow(1, 0, channels), w_b = w_full.narrow(1, channels, channels);
  at::Tensor w_p = (w_a + w_b) * 0.5, w_q = (w_a - w_b) * 0.5;
  at::Tensor out = unpack(at::mm(w_p, sym), at::mm(w_q, anti), terms, batch, n, 1.0);
  return {out, sym, anti, vec};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> fused22_backward_cpu(
    const at::Tensor& grad, const at::Tensor& sym, const at::Tensor& anti,
    const at::Tensor& vec, const at::Tensor& w_full, const at::Tensor& w_vec,
    const c10::optional<at::Tensor>& scale) {
  const int64_t batch = grad.size(0), out_channels = grad.size(1), n = grad.size(2);
  const int64_t channels = sym.size(0);
  auto [g_sym, g_anti, g_sums] = pack(grad, 1.0);
  // (B n, 3D): the adjoint of the three embeddings, node axis first
  at::Tensor small = g_sums.permute({0, 3, 1, 2}).reshape({batch * n, 3 * out_channels});
  at::Tensor grad_w_vec = at::mm(small.t(), vec);
  at::Tensor grad_bias3 = small.sum(0);
  at::Tensor d_p = at::mm(g_sym, sym.t()), d_q = at::mm(g_anti, anti.t());
  at::Tensor grad_w_full = at::cat({(d_p + d_q) * 0.5, (d_p - d_q) * 0.5}, 1);
  at::Tensor w_a = w_full.narrow(1, 0, channels), w_b = w_full.narrow(1, channels, channels);
  at::Tensor w_p = (w_a + w_b) * 0.5, w_q = (w_a - w_b) * 0.5;
  // (B, 5C, n) gradients of [rows, cols, diag, total, trace]
  at::Tensor g = at::mm(small, w_vec).reshape({batch, n, 5 * channels}).transpose(1, 2);
  at::Tensor g_rows = g.narrow(1, 0, channels), g_cols = g.narrow(1, channels, channels);
  at::Tensor g_diag = g.narrow(1, 2 * channels, channels);
  at::Tensor g_total = g.narrow(1, 3 * channels, channels).sum(-1, true);
  at::Tensor g_trace = g.narrow(1, 4 * channels, channels).sum(-1, true);
  if (scale.has_value()) {
    const at::Tensor& s = *scale;
    g_rows = g_rows * s;
    g_cols = g_cols * s;
    g_total = g_total * (s * s);
    g_trace = g_trace * s;
  }
  at::Tensor terms = at::stack({g_rows + g_total, g_cols, g_diag + g_trace}, 1);
  at::Tensor grad_x = unpack(at::mm(w_p.t(), g_sym), at::mm(w_q.t(), g_anti), terms, batch, n,
                             2.0);
  return {grad_x, grad_w_full, grad_w_vec, grad_bias3};
}

}  // namespace geomlayers

TORCH_LIBRARY_FRAGMENT(geomlayers, m) {
  m.def("fused22_forward(Tensor x, Tensor w_full, Tensor w_vec, Tensor? scale, Tensor? bias3) "
        "-> (Tensor, Tensor, Tensor, Tensor)");
  m.def("fused22_backward(Tensor grad, Tensor sym, Tensor anti, Tensor vec, Tensor w_full, "
        "Tensor w_vec, Tensor? scale) -> (Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(geomlayers, CPU, m) {
  m.impl("fused22_forward", &geomlayers::fused22_forward_cpu);
  m.impl("fused22_backward", &geomlayers::fused22_backward_cpu);
}
