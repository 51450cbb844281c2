// Generalised-diagonal reduce / embed: the two primitives of every partition-diagram layer.
//
//   diag_reduce(x (M, n^k), labels[k], keep[t], n) -> (M, n^p)
//       y[m, v_kept] = sum over v_summed of x[m, v_labels[0], ..., v_labels[k-1]]
//   diag_embed_add(out (M, n^l), y, labels, keep, n) = out + diag_embed(y, labels, keep, n)
//   diag_embed(y (M, n^p), labels[l], keep[t], n) -> (M, n^l)
//       out[m, v_labels[0], ..., v_labels[l-1]] = y[m, v_kept], broadcast over the blocks
//       with keep = false, zero off the generalised diagonal
//
// labels[a] is the block (numbered by first appearance) of tensor axis a; keep[b] marks the
// propagating blocks, whose values index y in block order. embed is the transpose of reduce
// for the same pattern; the Python side registers each as the other's backward
// (geomlayers/ops/extension.py). Both run as gathers/scatters over precomputed offset tables:
// every output element is written by exactly one thread, so no atomics are needed.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

namespace geomlayers {

struct Offsets {
  std::vector<int64_t> kept;    // offset of every assignment of the kept blocks
  std::vector<int64_t> other;   // offset of every assignment of the other blocks
};

int64_t power(int64_t base, int64_t exponent) {
  int64_t result = 1;
  for (int64_t i = 0; i < exponent; ++i) result *= base;
  return result;
}

// Offsets of all value assignments of the selected blocks, first selected block most
// significant (row-major, matching torch's layout of the reduced tensor).
std::vector<int64_t> assignment_offsets(const std::vector<int64_t>& strides, int64_t n) {
  std::vector<int64_t> offsets{0};
  for (int64_t stride : strides) {
    std::vector<int64_t> next;
    next.reserve(offsets.size() * n);
    for (int64_t base : offsets)
      for (int64_t v = 0; v < n; ++v) next.push_back(base + v * stride);
    offsets.swap(next);
  }
  return offsets;
}

Offsets build_offsets(at::IntArrayRef labels, const c10::List<bool>& keep, int64_t n) {
  const int64_t order = static_cast<int64_t>(labels.size());
  const int64_t blocks = static_cast<int64_t>(keep.size());
  std::vector<int64_t> block_stride(blocks, 0);
  for (int64_t axis = 0; axis < order; ++axis) {
    TORCH_CHECK(labels[axis] >= 0 && labels[axis] < blocks, "label out of range");
    block_stride[labels[axis]] += power(n, order - 1 - axis);
  }
  std::vector<int64_t> kept, other;
  for (int64_t b = 0; b < blocks; ++b) (keep.get(b) ? kept : other).push_back(block_stride[b]);
  return {assignment_offsets(kept, n), assignment_offsets(other, n)};
}

// Offset tables are cached per (labels, keep, n): a layer calls the same patterns every step.
const Offsets& pattern_offsets(at::IntArrayRef labels, const c10::List<bool>& keep, int64_t n) {
  using Key = std::tuple<std::vector<int64_t>, std::vector<bool>, int64_t>;
  static std::map<Key, std::unique_ptr<Offsets>> cache;
  static std::mutex lock;
  std::vector<bool> flags;
  for (size_t b = 0; b < keep.size(); ++b) flags.push_back(keep.get(b));
  Key key{labels.vec(), flags, n};
  std::lock_guard<std::mutex> guard(lock);
  auto found = cache.find(key);
  if (found == cache.end())
    found = cache.emplace(key, std::make_unique<Offsets>(build_offsets(labels, keep, n))).first;
  return *found->second;
}

int64_t kept_count(const c10::List<bool>& keep) {
  int64_t count = 0;
  for (size_t b = 0; b < keep.size(); ++b) count += keep.get(b) ? 1 : 0;
  return count;
}

at::Tensor diag_reduce_cpu(const at::Tensor& x, at::IntArrayRef labels,
                           const c10::List<bool>& keep, int64_t n) {
  TORCH_CHECK(x.dim() == 2, "diag_reduce: x must be (M, n^k)");
  const int64_t k = static_cast<int64_t>(labels.size());
  TORCH_CHECK(x.size(1) == power(n, k), "diag_reduce: x.size(1) must be n^k");
  const Offsets& offsets = pattern_offsets(labels, keep, n);
  const int64_t rows = x.size(0), width = x.size(1);
  const int64_t out_width = static_cast<int64_t>(offsets.kept.size());
  at::Tensor input = x.contiguous();
  at::Tensor y = at::empty({rows, out_width}, x.options());
  const int64_t summed = static_cast<int64_t>(offsets.other.size());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "diag_reduce", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const scalar_t* in = input.data_ptr<scalar_t>();
    scalar_t* out = y.data_ptr<scalar_t>();
    const int64_t* kept = offsets.kept.data();
    const int64_t* other = offsets.other.data();
    at::parallel_for(0, rows * out_width, 2048, [&](int64_t begin, int64_t end) {
      for (int64_t index = begin; index < end; ++index) {
        const int64_t row = index / out_width, column = index % out_width;
        const scalar_t* base = in + row * width + kept[column];
        acc_t total = 0;
        for (int64_t s = 0; s < summed; ++s) total += static_cast<acc_t>(base[other[s]]);
        out[index] = static_cast<scalar_t>(total);
      }
    });
  });
  return y;
}

// result[m, diagonal position of column c, broadcast] += y[m, c]. Positions of one pattern are
// distinct, so every entry is written by one thread and no atomics are needed.
void scatter_add_pattern(at::Tensor& result, const at::Tensor& y, const Offsets& offsets) {
  const int64_t rows = y.size(0), width = y.size(1), out_width = result.size(1);
  const int64_t spread = static_cast<int64_t>(offsets.other.size());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, y.scalar_type(), "diag_embed", [&] {
    const scalar_t* in = y.data_ptr<scalar_t>();
    scalar_t* dst = result.data_ptr<scalar_t>();
    const int64_t* kept = offsets.kept.data();
    const int64_t* other = offsets.other.data();
    at::parallel_for(0, rows * width, 2048, [&](int64_t begin, int64_t end) {
      for (int64_t index = begin; index < end; ++index) {
        const int64_t row = index / width, column = index % width;
        const scalar_t value = in[index];
        scalar_t* base = dst + row * out_width + kept[column];
        for (int64_t s = 0; s < spread; ++s) base[other[s]] += value;
      }
    });
  });
}

at::Tensor diag_embed_cpu(const at::Tensor& y, at::IntArrayRef labels,
                          const c10::List<bool>& keep, int64_t n) {
  TORCH_CHECK(y.dim() == 2, "diag_embed: y must be (M, n^p)");
  const int64_t l = static_cast<int64_t>(labels.size());
  TORCH_CHECK(y.size(1) == power(n, kept_count(keep)), "diag_embed: y.size(1) must be n^p");
  at::Tensor out = at::zeros({y.size(0), power(n, l)}, y.options());
  scatter_add_pattern(out, y.contiguous(), pattern_offsets(labels, keep, n));
  return out;
}

// out + diag_embed(y): one copy of out, then every diagonal entry updated once.
at::Tensor diag_embed_add_cpu(const at::Tensor& out, const at::Tensor& y, at::IntArrayRef labels,
                              const c10::List<bool>& keep, int64_t n) {
  const int64_t l = static_cast<int64_t>(labels.size());
  TORCH_CHECK(y.dim() == 2 && y.size(1) == power(n, kept_count(keep)),
              "diag_embed_add: y must be (M, n^p)");
  TORCH_CHECK(out.dim() == 2 && out.size(0) == y.size(0) && out.size(1) == power(n, l),
              "diag_embed_add: out must be (M, n^l)");
  at::Tensor result = out.clone(at::MemoryFormat::Contiguous);
  scatter_add_pattern(result, y.contiguous(), pattern_offsets(labels, keep, n));
  return result;
}

}  // namespace geomlayers

TORCH_LIBRARY(geomlayers, m) {
  m.def("diag_reduce(Tensor x, int[] labels, bool[] keep, SymInt n) -> Tensor");
  m.def("diag_embed(Tensor y, int[] labels, bool[] keep, SymInt n) -> Tensor");
  m.def("diag_embed_add(Tensor out, Tensor y, int[] labels, bool[] keep, SymInt n) -> Tensor");
}

TORCH_LIBRARY_IMPL(geomlayers, CPU, m) {
  m.impl("diag_reduce", &geomlayers::diag_reduce_cpu);
  m.impl("diag_embed", &geomlayers::diag_embed_cpu);
  m.impl("diag_embed_add", &geomlayers::diag_embed_add_cpu);
}
