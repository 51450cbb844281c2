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

// The mixing matrices from the layer's weight (E, D, C) and its 17 slots (0, 1: the identity
// and transpose terms; 2 + 5 o + r: order-1 output o of reduction r; E marks an empty slot):
// w_p = (W_A + W_B) / 2, w_q = (W_A - W_B) / 2 (D, C) and w_vec (3D, 5C).
std::tuple<at::Tensor, at::Tensor, at::Tensor> mixing_weights(const at::Tensor& weight,
                                                              at::IntArrayRef slots) {
  TORCH_CHECK(slots.size() == 17, "fused22: slots must have 17 entries");
  const int64_t elements = weight.size(0), out_channels = weight.size(1),
                channels = weight.size(2);
  for (int64_t slot : slots)
    TORCH_CHECK(slot >= 0 && slot <= elements, "fused22: slot out of range");
  at::Tensor source = weight.contiguous();
  at::Tensor w_p = at::empty({out_channels, channels}, weight.options());
  at::Tensor w_q = at::empty({out_channels, channels}, weight.options());
  at::Tensor w_vec = at::empty({3 * out_channels, 5 * channels}, weight.options());
  const int64_t block = out_channels * channels;
  AT_DISPATCH_FLOATING_TYPES(weight.scalar_type(), "fused22_weights", [&] {
    const scalar_t* w = source.data_ptr<scalar_t>();
    auto at_slot = [&](int64_t slot) -> const scalar_t* {
      return slots[slot] < elements ? w + slots[slot] * block : nullptr;
    };
    const scalar_t* a = at_slot(0);
    const scalar_t* b = at_slot(1);
    scalar_t* p = w_p.data_ptr<scalar_t>();
    scalar_t* q = w_q.data_ptr<scalar_t>();
    for (int64_t e = 0; e < block; ++e) {
      const scalar_t va = a ? a[e] : scalar_t(0), vb = b ? b[e] : scalar_t(0);
      p[e] = (va + vb) * scalar_t(0.5);
      q[e] = (va - vb) * scalar_t(0.5);
    }
    scalar_t* v = w_vec.data_ptr<scalar_t>();
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t r = 0; r < 5; ++r) {
        const scalar_t* src = at_slot(2 + 5 * o + r);
        for (int64_t d = 0; d < out_channels; ++d) {
          scalar_t* dst = v + (o * out_channels + d) * 5 * channels + r * channels;
          for (int64_t c = 0; c < channels; ++c) dst[c] = src ? src[d * channels + c] : 0;
        }
      }
  });
  return {w_p, w_q, w_vec};
}

// The adjoint of mixing_weights: (E, D, C) from the gradients of w_p, w_q and w_vec.
at::Tensor weight_gradient(const at::Tensor& d_p, const at::Tensor& d_q, const at::Tensor& d_vec,
                           int64_t elements, at::IntArrayRef slots) {
  const int64_t out_channels = d_p.size(0), channels = d_p.size(1);
  at::Tensor grad = at::zeros({elements, out_channels, channels}, d_p.options());
  at::Tensor dp = d_p.contiguous(), dq = d_q.contiguous(), dv = d_vec.contiguous();
  const int64_t block = out_channels * channels;
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "fused22_weight_grad", [&] {
    scalar_t* g = grad.data_ptr<scalar_t>();
    const scalar_t* p = dp.data_ptr<scalar_t>();
    const scalar_t* q = dq.data_ptr<scalar_t>();
    const scalar_t* v = dv.data_ptr<scalar_t>();
    for (int64_t which = 0; which < 2; ++which) {
      if (slots[which] >= elements) continue;
      scalar_t* dst = g + slots[which] * block;
      const scalar_t sign = which == 0 ? scalar_t(1) : scalar_t(-1);
      for (int64_t e = 0; e < block; ++e) dst[e] += (p[e] + sign * q[e]) * scalar_t(0.5);
    }
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t r = 0; r < 5; ++r) {
        const int64_t slot = slots[2 + 5 * o + r];
        if (slot >= elements) continue;
        scalar_t* dst = g + slot * block;
        for (int64_t d = 0; d < out_channels; ++d) {
          const scalar_t* src = v + (o * out_channels + d) * 5 * channels + r * channels;
          for (int64_t c = 0; c < channels; ++c) dst[d * channels + c] += src[c];
        }
      }
  });
  return grad;
}

// (3D) bias of the three order-1 outputs from the bias weight (J, D) and its 3 slots (J = none).
at::Tensor bias_vector(const at::Tensor& bias, at::IntArrayRef bias_slots) {
  TORCH_CHECK(bias.dim() == 2 && bias_slots.size() == 3,
              "fused22: bias must be (J, D) with 3 bias slots");
  const int64_t rows = bias.size(0), out_channels = bias.size(1);
  std::vector<at::Tensor> parts;
  for (int64_t slot : bias_slots)
    parts.push_back(slot < rows ? bias.select(0, slot) : at::zeros({out_channels}, bias.options()));
  return at::cat(parts);
}

void check_inputs(const at::Tensor& x, const at::Tensor& weight) {
  TORCH_CHECK(x.dim() == 4 && x.size(2) == x.size(3), "fused22: x must be (B, C, n, n)");
  TORCH_CHECK(weight.dim() == 3 && weight.size(2) == x.size(1),
              "fused22: weight must be (E, D, C) with C = x.size(1)");
  TORCH_CHECK(x.scalar_type() == weight.scalar_type(), "fused22: x and weight dtypes differ");
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> fused22_forward_cpu(
    const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef slots,
    const c10::optional<at::Tensor>& scale, const c10::optional<at::Tensor>& bias,
    at::IntArrayRef bias_slots) {
  check_inputs(x, weight);
  const int64_t batch = x.size(0), n = x.size(2);
  auto [w_p, w_q, w_vec] = mixing_weights(weight, slots);
  auto [sym, anti, vec] = pack(x, scale, 5, 2.0);
  // (B n, 3D) = [a (row-wise), b (column-wise), d (diagonal)] per node
  at::Tensor small = bias.has_value() ? at::addmm(bias_vector(*bias, bias_slots), vec, w_vec.t())
                                      : at::mm(vec, w_vec.t());
  at::Tensor out = unpack(at::mm(w_p, sym), at::mm(w_q, anti), small, c10::nullopt, 3, batch, n,
                          1.0);
  return {out, sym, anti, vec};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> fused22_backward_cpu(
    const at::Tensor& grad, const at::Tensor& sym, const at::Tensor& anti,
    const at::Tensor& vec, const at::Tensor& weight, at::IntArrayRef slots,
    const c10::optional<at::Tensor>& scale, int64_t bias_rows, at::IntArrayRef bias_slots,
    bool input_grad) {
  const int64_t batch = grad.size(0), n = grad.size(2);
  auto [w_p, w_q, w_vec] = mixing_weights(weight, slots);
  // (B n, 3D): the adjoint of the three embeddings, node axis first
  auto [g_sym, g_anti, small] = pack(grad, c10::nullopt, 3, 1.0);
  at::Tensor grad_weight = weight_gradient(at::mm(g_sym, sym.t()), at::mm(g_anti, anti.t()),
                                           at::mm(small.t(), vec), weight.size(0), slots);
  at::Tensor grad_bias;
  TORCH_CHECK(bias_rows == 0 || bias_slots.size() == 3, "fused22: 3 bias slots expected");
  if (bias_rows > 0) {
    at::Tensor per_slot = small.sum(0).reshape({3, -1});
    grad_bias = at::zeros({bias_rows, per_slot.size(1)}, grad.options());
    for (int64_t s = 0; s < 3; ++s)
      if (bias_slots[s] < bias_rows) grad_bias.select(0, bias_slots[s]).add_(per_slot.select(0, s));
  } else {
    grad_bias = at::empty({0}, grad.options());
  }
  at::Tensor grad_x;
  if (input_grad) {
    grad_x = unpack(at::mm(w_p.t(), g_sym), at::mm(w_q.t(), g_anti), at::mm(small, w_vec), scale,
                    5, batch, n, 2.0);
  } else {
    grad_x = at::empty({0}, grad.options());
  }
  return {grad_x, grad_weight, grad_bias};
}

}  // namespace geomlayers

TORCH_LIBRARY_FRAGMENT(geomlayers, m) {
  m.def("fused22_forward(Tensor x, Tensor weight, int[] slots, Tensor? scale, Tensor? bias, "
        "int[] bias_slots) -> (Tensor, Tensor, Tensor, Tensor)");
  m.def("fused22_backward(Tensor grad, Tensor sym, Tensor anti, Tensor vec, Tensor weight, "
        "int[] slots, Tensor? scale, int bias_rows, int[] bias_slots, bool input_grad) "
        "-> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(geomlayers, CPU, m) {
  m.impl("fused22_forward", &geomlayers::fused22_forward_cpu);
  m.impl("fused22_backward", &geomlayers::fused22_backward_cpu);
}
