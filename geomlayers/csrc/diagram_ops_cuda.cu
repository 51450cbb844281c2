// CUDA kernels of diag_reduce / diag_embed (see diagram_ops.cpp for the definitions).
// Compiled only where a CUDA toolkit and a GPU are present (geomlayers/ops/extension.py).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <vector>

namespace geomlayers {

std::vector<int64_t> assignment_offsets(const std::vector<int64_t>& strides, int64_t n);
int64_t power(int64_t base, int64_t exponent);
int64_t kept_count(const c10::List<bool>& keep);

namespace {

std::pair<at::Tensor, at::Tensor> device_offsets(at::IntArrayRef labels,
                                                 const c10::List<bool>& keep, int64_t n,
                                                 const at::Device& device) {
  const int64_t order = static_cast<int64_t>(labels.size());
  std::vector<int64_t> block_stride(keep.size(), 0);
  for (int64_t axis = 0; axis < order; ++axis)
    block_stride[labels[axis]] += power(n, order - 1 - axis);
  std::vector<int64_t> kept, other;
  for (size_t b = 0; b < keep.size(); ++b) (keep.get(b) ? kept : other).push_back(block_stride[b]);
  auto to_device = [&](const std::vector<int64_t>& values) {
    auto host = at::tensor(values, at::TensorOptions().dtype(at::kLong));
    return host.to(device);
  };
  return {to_device(assignment_offsets(kept, n)), to_device(assignment_offsets(other, n))};
}

template <typename scalar_t>
__global__ void reduce_kernel(const scalar_t* in, scalar_t* out, const int64_t* kept,
                              const int64_t* other, int64_t total, int64_t out_width,
                              int64_t width, int64_t summed) {
  using acc_t = at::opmath_type<scalar_t>;
  for (int64_t index = blockIdx.x * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const scalar_t* base = in + (index / out_width) * width + kept[index % out_width];
    acc_t acc = 0;
    for (int64_t s = 0; s < summed; ++s) acc += static_cast<acc_t>(base[other[s]]);
    out[index] = static_cast<scalar_t>(acc);
  }
}

template <typename scalar_t>
__global__ void embed_kernel(const scalar_t* in, scalar_t* out, const int64_t* kept,
                             const int64_t* other, int64_t total, int64_t width,
                             int64_t out_width, int64_t spread) {
  for (int64_t index = blockIdx.x * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    scalar_t* base = out + (index / width) * out_width + kept[index % width];
    const scalar_t value = in[index];
    for (int64_t s = 0; s < spread; ++s) base[other[s]] = value;
  }
}

int blocks_for(int64_t total) {
  return static_cast<int>(std::min<int64_t>((total + 255) / 256, 65535));
}

}  // namespace

at::Tensor diag_reduce_cuda(const at::Tensor& x, at::IntArrayRef labels,
                            const c10::List<bool>& keep, int64_t n) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == power(n, labels.size()), "diag_reduce: bad x");
  c10::cuda::CUDAGuard guard(x.device());
  auto [kept, other] = device_offsets(labels, keep, n, x.device());
  at::Tensor input = x.contiguous();
  at::Tensor y = at::empty({x.size(0), kept.numel()}, x.options());
  const int64_t total = y.numel();
  if (total == 0) return y;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "diag_reduce", [&] {
    reduce_kernel<scalar_t><<<blocks_for(total), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        input.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), kept.data_ptr<int64_t>(),
        other.data_ptr<int64_t>(), total, kept.numel(), x.size(1), other.numel());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return y;
}

at::Tensor diag_embed_cuda(const at::Tensor& y, at::IntArrayRef labels,
                           const c10::List<bool>& keep, int64_t n) {
  TORCH_CHECK(y.dim() == 2 && y.size(1) == power(n, kept_count(keep)), "diag_embed: bad y");
  c10::cuda::CUDAGuard guard(y.device());
  auto [kept, other] = device_offsets(labels, keep, n, y.device());
  at::Tensor input = y.contiguous();
  at::Tensor out = at::zeros({y.size(0), power(n, labels.size())}, y.options());
  const int64_t total = input.numel();
  if (total == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, y.scalar_type(), "diag_embed", [&] {
    embed_kernel<scalar_t><<<blocks_for(total), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        input.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), kept.data_ptr<int64_t>(),
        other.data_ptr<int64_t>(), total, y.size(1), out.size(1), other.numel());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

at::Tensor diag_embed_add_cuda(const at::Tensor& out, const at::Tensor& y, at::IntArrayRef labels,
                               const c10::List<bool>& keep, int64_t n) {
  // out + embed(y): positions of one pattern are distinct, so a plain add is race-free
  return out.contiguous() + diag_embed_cuda(y, labels, keep, n);
}

}  // namespace geomlayers

TORCH_LIBRARY_IMPL(geomlayers, CUDA, m) {
  m.impl("diag_reduce", &geomlayers::diag_reduce_cuda);
  m.impl("diag_embed", &geomlayers::diag_embed_cuda);
  m.impl("diag_embed_add", &geomlayers::diag_embed_add_cuda);
}
