// ai.leancnn BinaryConv by XNOR-popcount (leancnn/ops/binary_conv.h), 3x3, 1x1, any stride,
// padding and dilation, and 2-D (fully connected). The filters are packed once (prepare) as
// [oc][ky][kx][ic / 64 words], bit 1 = +1, channel-padding bits 0; each sample's signs as
// [iy][ix][ic / 64 words] the same way. One output pixel gathers its taps' words into one patch
// (the taps outside the input as zero words) and takes popcount(patch XOR filter) for every
// output channel at once (xnor_popcount_*.cpp). Padding bits are 0 on both sides and so never
// disagree; a tap outside the input adds popcount(filter tap) disagreements, which are taken
// back from per-(oc, tap) counts, so that dot = ic * valid_taps - 2 * disagreements is the
// reference's exact integer and the output the same f32 expression (binary_conv_output).
#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>

#include "leancnn/core/cpu.h"
#include "leancnn/ops/binary_conv.h"
#include "leancnn/ops/binary_net.h"
#include "xnor_kernels.h"

namespace leancnn::kernels::binary {
namespace {

struct PackedFilters {
  Shape src_shape;               // the input shape the geometry is for
  ops::ConvGeometry g;
  int64_t cw = 0;                // 64-bit words per tap (channels / 64, rounded up)
  std::vector<uint64_t> bits;    // [oc][kh * kw][cw]
  std::vector<int32_t> tap_ones; // [oc][kh * kw]: popcount of each filter tap
  std::vector<float> alpha, bias;
};

std::string check_weights(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.size() < 2 || !ctx.inputs[1].defined()) return "no weights";
  if (ctx.inputs[0].dtype() != DType::f32) return "input is not f32";
  std::vector<float> alpha;
  std::string why;
  if (!ops::binary_row_scales(ctx.inputs[1], alpha, &why)) return why;
  return "";
}

std::shared_ptr<PackedFilters> pack(const ir::ForwardCtx& ctx) {
  auto p = std::make_shared<PackedFilters>();
  p->src_shape = ctx.inputs[0].shape();
  const Tensor w = ctx.inputs[1].is_contiguous() ? ctx.inputs[1] : ctx.inputs[1].clone();
  const ops::ConvGeometry& g = p->g = ops::binary_conv_geometry(ctx.node, ctx.inputs[0].shape(), w.shape());
  ops::binary_row_scales(w, p->alpha);
  const int64_t taps = g.kh * g.kw;
  p->cw = (g.ic + 63) / 64;
  p->bits.assign(static_cast<size_t>(g.oc * taps * p->cw), 0);
  p->tap_ones.assign(static_cast<size_t>(g.oc * taps), 0);
  const float* wt = w.data<float>();
  for (int64_t oc = 0; oc < g.oc; ++oc)
    for (int64_t ic = 0; ic < g.ic; ++ic)
      for (int64_t t = 0; t < taps; ++t)
        if (ops::sign_bit(wt[(oc * g.ic + ic) * taps + t])) {
          p->bits[static_cast<size_t>((oc * taps + t) * p->cw + ic / 64)] |= uint64_t{1} << (ic % 64);
          ++p->tap_ones[static_cast<size_t>(oc * taps + t)];
        }
  p->bias.assign(static_cast<size_t>(g.oc), 0.f);
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined()) {
    const Tensor b = ctx.inputs[2].clone();
    std::copy(b.data<float>(), b.data<float>() + g.oc, p->bias.begin());
  }
  return p;
}

void run(ir::ForwardCtx& ctx, XorPopcountRows rows_fn) {
  std::shared_ptr<PackedFilters> own;
  const PackedFilters* pf = static_cast<const PackedFilters*>(ctx.prepared);
  if (!pf || pf->src_shape != ctx.inputs[0].shape()) {
    own = pack(ctx);
    pf = own.get();
  }
  const ops::ConvGeometry& g = pf->g;
  const int64_t n_batch = ctx.inputs[0].shape()[0];
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const bool scaled = ops::parse_act_scale(ctx.node, "input_scale") == ops::ActScale::mean_abs;
  const int64_t taps = g.kh * g.kw, cw = pf->cw, words = taps * cw, plane = g.ih * g.iw, image = g.ic * plane;
  std::vector<uint64_t> xb(static_cast<size_t>(plane * cw));
  float* dst = ctx.outputs[0].data<float>();
  const int threads = g.oh > 1 ? num_threads() : 1;
  for (int64_t n = 0; n < n_batch; ++n) {
    const float* src = x.data<float>() + n * image;
    const float beta = scaled ? ops::mean_abs_scale(src, image) : 1.f;
    std::fill(xb.begin(), xb.end(), 0);
    for (int64_t c = 0; c < g.ic; ++c) {
      const uint64_t bit = uint64_t{1} << (c % 64);
      uint64_t* col = xb.data() + c / 64;
      const float* s = src + c * plane;
      for (int64_t i = 0; i < plane; ++i)
        if (ops::sign_bit(s[i])) col[i * cw] |= bit;
    }
    float* out = dst + n * g.oc * g.oh * g.ow;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      std::vector<uint64_t> patch(static_cast<size_t>(words));
      std::vector<int32_t> disagree(static_cast<size_t>(g.oc));
      std::vector<int64_t> outside;
#pragma omp for schedule(static)
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          outside.clear();
          for (int64_t ky = 0; ky < g.kh; ++ky)
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t t = ky * g.kw + kx;
              const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
              const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
              uint64_t* dstw = patch.data() + t * cw;
              if (iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw) {
                std::fill(dstw, dstw + cw, 0);
                outside.push_back(t);
              } else {
                std::memcpy(dstw, xb.data() + (iy * g.iw + ix) * cw, static_cast<size_t>(cw) * 8);
              }
            }
          rows_fn(patch.data(), pf->bits.data(), words, g.oc, disagree.data());
          const int64_t valid = g.ic * (taps - static_cast<int64_t>(outside.size()));
          for (int64_t oc = 0; oc < g.oc; ++oc) {
            int64_t d = disagree[static_cast<size_t>(oc)];
            for (int64_t t : outside) d -= pf->tap_ones[static_cast<size_t>(oc * taps + t)];
            out[(oc * g.oh + oy) * g.ow + ox] = ops::binary_conv_output(
                valid - 2 * d, pf->alpha[static_cast<size_t>(oc)], beta, pf->bias[static_cast<size_t>(oc)]);
          }
        }
    }
  }
}

std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) { return pack(ctx); }

std::string check_avx512(const ir::ForwardCtx& ctx) {
  const CpuFeatures& f = cpu_features();
  if (!f.avx512f || !f.avx512vpopcntdq) return "no AVX-512 VPOPCNTDQ on this CPU (or capped)";
  return check_weights(ctx);
}
std::string check_avx2(const ir::ForwardCtx& ctx) {
  if (!cpu_features().avx2) return "no AVX2 on this CPU";
  return check_weights(ctx);
}
void forward_avx512(ir::ForwardCtx& ctx) { run(ctx, xor_popcount_rows_avx512); }
void forward_avx2(ir::ForwardCtx& ctx) { run(ctx, xor_popcount_rows_avx2); }

}  // namespace

Kernel cpu_binary_conv_b1_avx512() {
  return {"cpu_binary_conv_b1_avx512", check_avx512, forward_avx512, nullptr, nullptr, prepare, nullptr};
}
Kernel cpu_binary_conv_b1_avx2() {
  return {"cpu_binary_conv_b1_avx2", check_avx2, forward_avx2, nullptr, nullptr, prepare, nullptr};
}

}  // namespace leancnn::kernels::binary
