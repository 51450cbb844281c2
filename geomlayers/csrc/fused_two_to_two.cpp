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

#include <algorithm>
#include <cstring>
#include <tuple>
#include <vector>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace geomlayers {
namespace {

// Inner loops as functions with restrict-qualified arguments, so that the compiler vectorises.
template <typename T>
void add_sub(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ sum,
             T* __restrict__ difference, int64_t width) {
  for (int64_t j = 0; j < width; ++j) {
    sum[j] = a[j] + b[j];
    difference[j] = a[j] - b[j];
  }
}

template <typename T>
void accumulate_two(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ into_a,
                    T* __restrict__ into_b, int64_t width) {
  for (int64_t j = 0; j < width; ++j) {
    into_a[j] += a[j];
    into_b[j] += b[j];
  }
}

// upper[j] = p[j] + q[j] + r + col[j]; lower[j] = p[j] - q[j] + row[j] + c
template <typename T>
void combine(const T* __restrict__ p, const T* __restrict__ q, const T* __restrict__ row,
             const T* __restrict__ col, T r, T c, T* __restrict__ upper, T* __restrict__ lower,
             int64_t width) {
  for (int64_t j = 0; j < width; ++j) {
    upper[j] = p[j] + q[j] + r + col[j];
    lower[j] = p[j] - q[j] + row[j] + c;
  }
}

// t = a^T (n x n, row-major); with ADD, t += a^T. 4 x 4 register tiles for float on SSE.
template <bool ADD, typename T>
void transpose_scalar(const T* __restrict__ a, T* __restrict__ t, int64_t n, int64_t i0,
                      int64_t i1, int64_t j0, int64_t j1) {
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = j0; j < j1; ++j) {
      if constexpr (ADD) {
        t[j * n + i] += a[i * n + j];
      } else {
        t[j * n + i] = a[i * n + j];
      }
    }
}

template <bool ADD, typename T>
void transpose(const T* __restrict__ a, T* __restrict__ t, int64_t n) {
  constexpr int64_t tile = 8;
  for (int64_t i0 = 0; i0 < n; i0 += tile)
    for (int64_t j0 = 0; j0 < n; j0 += tile)
      transpose_scalar<ADD>(a, t, n, i0, std::min(i0 + tile, n), j0, std::min(j0 + tile, n));
}

#if defined(__SSE2__)
template <bool ADD>
void transpose(const float* __restrict__ a, float* __restrict__ t, int64_t n) {
  const int64_t full = n - n % 4;
  for (int64_t i0 = 0; i0 < full; i0 += 4) {
    for (int64_t j0 = 0; j0 < full; j0 += 4) {
      __m128 r0 = _mm_loadu_ps(a + (i0 + 0) * n + j0), r1 = _mm_loadu_ps(a + (i0 + 1) * n + j0);
      __m128 r2 = _mm_loadu_ps(a + (i0 + 2) * n + j0), r3 = _mm_loadu_ps(a + (i0 + 3) * n + j0);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      float* d = t + j0 * n + i0;
      if constexpr (ADD) {
        r0 = _mm_add_ps(r0, _mm_loadu_ps(d));
        r1 = _mm_add_ps(r1, _mm_loadu_ps(d + n));
        r2 = _mm_add_ps(r2, _mm_loadu_ps(d + 2 * n));
        r3 = _mm_add_ps(r3, _mm_loadu_ps(d + 3 * n));
      }
      _mm_storeu_ps(d, r0);
      _mm_storeu_ps(d + n, r1);
      _mm_storeu_ps(d + 2 * n, r2);
      _mm_storeu_ps(d + 3 * n, r3);
    }
    transpose_scalar<ADD>(a, t, n, i0, i0 + 4, full, n);
  }
  transpose_scalar<ADD>(a, t, n, full, n, 0, n);
}
#endif

// Per-sample scale: s[b] of a (B) or (1) tensor, 1 without one.
template <typename T>
T scale_of(const T* scale, int64_t count, int64_t b) {
  return scale == nullptr ? T(1) : scale[count == 1 ? 0 : b];
}

// x (B, C, n, n) -> S (C, B m): x_ij + x_ji on i < j, diag_factor * x_ii on the diagonal
// (row-major upper triangle, m = n(n+1)/2); K (C, B m'): x_ij - x_ji on i < j; and the
// order-1 reductions in the layout their mixing matmul reads, vec (B n, slots C):
//   slots = 5 (forward): [s rows, s cols, diag, s^2 total, s trace], s the sample's scale;
//   slots = 3 (backward): [rows, cols, diag].
// Each n x n block is first transposed into a per-thread buffer, so every inner loop runs
// over contiguous memory.
std::tuple<at::Tensor, at::Tensor, at::Tensor> pack(const at::Tensor& x,
                                                    const c10::optional<at::Tensor>& scale,
                                                    int64_t slots, double diag_factor) {
  const int64_t batch = x.size(0), channels = x.size(1), n = x.size(2);
  const int64_t m = n * (n + 1) / 2, mk = n * (n - 1) / 2;
  at::Tensor input = x.contiguous();
  at::Tensor sym = at::empty({channels, batch * m}, x.options());
  at::Tensor anti = at::empty({channels, batch * mk}, x.options());
  at::Tensor vec = at::empty({batch * n, slots * channels}, x.options());
  at::Tensor scales;
  if (scale.has_value()) scales = scale->reshape({-1}).to(x.scalar_type()).contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused22_pack", [&] {
    const scalar_t* in = input.data_ptr<scalar_t>();
    scalar_t* s_out = sym.data_ptr<scalar_t>();
    scalar_t* k_out = anti.data_ptr<scalar_t>();
    scalar_t* v_out = vec.data_ptr<scalar_t>();
    const scalar_t* scale_ptr = scales.defined() ? scales.data_ptr<scalar_t>() : nullptr;
    const int64_t scale_count = scales.defined() ? scales.numel() : 1;
    const auto factor = static_cast<scalar_t>(diag_factor);
    const int64_t stride = slots * channels;
    at::parallel_for(0, batch * channels, 16, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> buffer(n * n + 2 * n);
      scalar_t* t = buffer.data();
      scalar_t* rows = t + n * n;
      scalar_t* cols = rows + n;
      for (int64_t index = begin; index < end; ++index) {
        const int64_t b = index / channels, c = index % channels;
        const scalar_t* a = in + index * n * n;
        scalar_t* s = s_out + c * batch * m + b * m;
        scalar_t* k = k_out + c * batch * mk + b * mk;
        transpose<false>(a, t, n);
        std::fill(rows, rows + 2 * n, scalar_t(0));
        for (int64_t i = 0; i < n; ++i) accumulate_two(a + i * n, t + i * n, cols, rows, n);
        for (int64_t i = 0; i < n; ++i) {
          const scalar_t* row = a + i * n;
          s[0] = factor * row[i];
          const int64_t width = n - 1 - i;
          add_sub(row + i + 1, t + i * n + i + 1, s + 1, k, width);
          s += 1 + width;
          k += width;
        }
        const scalar_t sc = scale_of(scale_ptr, scale_count, b);
        scalar_t total = 0, trace = 0;
        for (int64_t i = 0; i < n; ++i) {
          total += rows[i];
          trace += a[i * n + i];
        }
        scalar_t* v = v_out + b * n * stride + c;
        for (int64_t i = 0; i < n; ++i, v += stride) {
          v[0] = sc * rows[i];
          v[channels] = sc * cols[i];
          v[2 * channels] = a[i * n + i];
          if (slots == 5) {
            v[3 * channels] = sc * sc * total;
            v[4 * channels] = sc * trace;
          }
        }
      }
    });
  });
  return {sym, anti, vec};
}

// The adjoint layout of pack: out (B, D, n, n) with out_ij = P + Q + row_i + col_j and
// out_ji = P - Q + row_j + col_i (i < j), out_ii = diag_factor * P_ii + row_i + col_i + diag_i,
// from P (D, B m), Q (D, B m') and the mixed order-1 values `mixed` (B n, slots D):
//   slots = 3 (forward): [row, col, diag] directly;
//   slots = 5 (backward, the gradients of [rows, cols, diag, total, trace]):
//     row = s g_rows + s^2 sum_i g_total, col = s g_cols, diag = g_diag + s sum_i g_trace.
// The upper triangle is written in place; the lower one is built row-wise in a per-thread
// buffer and added transposed.
at::Tensor unpack(const at::Tensor& sym, const at::Tensor& anti, const at::Tensor& mixed,
                  const c10::optional<at::Tensor>& scale, int64_t slots, int64_t batch, int64_t n,
                  double diag_factor) {
  const int64_t channels = sym.size(0);
  const int64_t m = n * (n + 1) / 2, mk = n * (n - 1) / 2;
  at::Tensor p_in = sym.contiguous(), q_in = anti.contiguous(), v_in = mixed.contiguous();
  at::Tensor out = at::empty({batch, channels, n, n}, sym.options());
  at::Tensor scales;
  if (scale.has_value()) scales = scale->reshape({-1}).to(sym.scalar_type()).contiguous();
  AT_DISPATCH_FLOATING_TYPES(sym.scalar_type(), "fused22_unpack", [&] {
    const scalar_t* p_all = p_in.data_ptr<scalar_t>();
    const scalar_t* q_all = q_in.data_ptr<scalar_t>();
    const scalar_t* v_all = v_in.data_ptr<scalar_t>();
    scalar_t* o_all = out.data_ptr<scalar_t>();
    const scalar_t* scale_ptr = scales.defined() ? scales.data_ptr<scalar_t>() : nullptr;
    const int64_t scale_count = scales.defined() ? scales.numel() : 1;
    const auto factor = static_cast<scalar_t>(diag_factor);
    const int64_t stride = slots * channels;
    at::parallel_for(0, batch * channels, 16, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> buffer(n * n + 3 * n);
      scalar_t* u = buffer.data();
      scalar_t* row = u + n * n;
      scalar_t* col = row + n;
      scalar_t* diag = col + n;
      for (int64_t index = begin; index < end; ++index) {
        const int64_t b = index / channels, d = index % channels;
        const scalar_t* p = p_all + d * batch * m + b * m;
        const scalar_t* q = q_all + d * batch * mk + b * mk;
        const scalar_t* v = v_all + b * n * stride + d;
        if (slots == 3) {
          for (int64_t i = 0; i < n; ++i, v += stride) {
            row[i] = v[0];
            col[i] = v[channels];
            diag[i] = v[2 * channels];
          }
        } else {
          const scalar_t sc = scale_of(scale_ptr, scale_count, b);
          scalar_t total = 0, trace = 0;
          for (int64_t i = 0; i < n; ++i) {
            total += v[i * stride + 3 * channels];
            trace += v[i * stride + 4 * channels];
          }
          for (int64_t i = 0; i < n; ++i, v += stride) {
            row[i] = sc * v[0] + sc * sc * total;
            col[i] = sc * v[channels];
            diag[i] = v[2 * channels] + sc * trace;
          }
        }
        scalar_t* o = o_all + index * n * n;
        std::fill(u, u + n * n, scalar_t(0));
        for (int64_t i = 0; i < n; ++i) {
          std::fill(o + i * n, o + i * n + i, scalar_t(0));
          o[i * n + i] = factor * p[0] + row[i] + col[i] + diag[i];
          const int64_t width = n - 1 - i;
          // u[i * n + j] = out[j][i] for j > i
          combine(p + 1, q, row + i + 1, col + i + 1, row[i], col[i], o + i * n + i + 1,
                  u + i * n + i + 1, width);
          p += 1 + width;
          q += width;
        }
        transpose<true>(static_cast<const scalar_t*>(u), o, n);
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
  auto [sym, anti, vec] = pack(x, scale, 5, 2.0);
  // (B n, 3D) = [a (row-wise), b (column-wise), d (diagonal)] per node
  at::Tensor small = bias3.has_value() ? at::addmm(*bias3, vec, w_vec.t())
                                       : at::mm(vec, w_vec.t());
  at::Tensor w_a = w_full.narrow(1, 0, channels), w_b = w_full.narrow(1, channels, channels);
  at::Tensor w_p = (w_a + w_b).mul_(0.5), w_q = (w_a - w_b).mul_(0.5);
  at::Tensor out = unpack(at::mm(w_p, sym), at::mm(w_q, anti), small, c10::nullopt, 3, batch, n,
                          1.0);
  return {out, sym, anti, vec};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> fused22_backward_cpu(
    const at::Tensor& grad, const at::Tensor& sym, const at::Tensor& anti,
    const at::Tensor& vec, const at::Tensor& w_full, const at::Tensor& w_vec,
    const c10::optional<at::Tensor>& scale) {
  const int64_t batch = grad.size(0), n = grad.size(2);
  const int64_t channels = sym.size(0);
  // (B n, 3D): the adjoint of the three embeddings, node axis first
  auto [g_sym, g_anti, small] = pack(grad, c10::nullopt, 3, 1.0);
  at::Tensor grad_w_vec = at::mm(small.t(), vec);
  at::Tensor grad_bias3 = small.sum(0);
  at::Tensor d_p = at::mm(g_sym, sym.t()), d_q = at::mm(g_anti, anti.t());
  at::Tensor grad_w_full = at::cat({d_p + d_q, d_p - d_q}, 1).mul_(0.5);
  at::Tensor w_a = w_full.narrow(1, 0, channels), w_b = w_full.narrow(1, channels, channels);
  at::Tensor w_p = (w_a + w_b).mul_(0.5), w_q = (w_a - w_b).mul_(0.5);
  at::Tensor grad_x = unpack(at::mm(w_p.t(), g_sym), at::mm(w_q.t(), g_anti),
                             at::mm(small, w_vec), scale, 5, batch, n, 2.0);
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
