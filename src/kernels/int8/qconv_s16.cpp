// QLinearConv / ai.leancnn QLinearFusedConv on the exact s16 GEMM (s16_gemm.h), for CPUs with
// AVX2 and without VNNI (where oneDNN's u8 x s8 kernels could saturate): per image and group, the
// output pixels are the GEMM's rows (an im2col of NHWC source rows, widened to s16 minus x_zp,
// one block of rows at a time in a per-thread buffer), the output channels its columns (weights
// packed once when prepared). Channels-last source and destination (NCHW ones are reordered /
// written strided); bit-exact with ops::qlinear_conv_forward_ref
// (tests/conformance/qconv_conformance.cpp).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "int8_kernels.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/conv.h"
#include "depthwise.h"
#include "s16_common.h"

namespace leancnn::kernels {
namespace {
using namespace int8;
using ops::ConvGeometry;

constexpr int64_t kKChunk = 512;             // K values per pass over a weight panel (16 KB: L1)
constexpr int64_t kABlockBytes = 96 * 1024;  // a block of im2col rows (L2)
constexpr int64_t kMaxBlockRows = 192;
constexpr int64_t kParallelMacs = 1 << 17;   // below this, threads cost more than they save

struct PreparedConv {
  Shape src_shape;
  ConvGeometry g;
  ops::QLinearParams p;
  std::vector<PackedB> weights;  // one per group: K = kh * kw * ic/groups in (ky, kx, ic) order
  std::vector<Requant> requant;  // one per group (the GEMM path); the whole layer's (depthwise)
  PackedDepthwise depthwise;     // a depthwise layer's weights (then `weights` is empty)
};

std::shared_ptr<PreparedConv> prepare_conv(const ir::ForwardCtx& ctx) {
  auto pc = std::make_shared<PreparedConv>();
  const Tensor& w = ctx.inputs[ops::kQW];
  pc->src_shape = ctx.inputs[ops::kQX].shape();
  pc->g = ops::conv_geometry(ctx.node, pc->src_shape, w.shape());
  pc->p = ops::qlinear_params(ctx.node, ctx.inputs, pc->g.oc);
  const ConvGeometry& g = pc->g;
  const Tensor bias = ctx.inputs.size() > ops::kQBias ? ctx.inputs[ops::kQBias] : Tensor();
  const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups, taps = g.kh * g.kw;
  if (g.depthwise()) {  // one filter per channel: direct, not a GEMM of one column per group
    pc->depthwise = pack_depthwise(taps, g.oc, [&](int64_t c, int64_t t) { return weight_at(w, c * taps + t, pc->p.w_zp[c]); });
    pc->requant.push_back(requant_of(pc->p, bias, 0, g.oc));
    return pc;
  }
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    pc->weights.push_back(pack_b(taps * icg, ocg, [&](int64_t k, int64_t c) {
      const int64_t oc = grp * ocg + c, tap = k / icg, icl = k % icg;
      return weight_at(w, (oc * icg + icl) * taps + tap, pc->p.w_zp[oc]);
    }));
    pc->requant.push_back(requant_of(pc->p, bias, grp * ocg, ocg));
  }
  return pc;
}

// Rows [m0, m0 + rows) of image n's im2col for group grp: row r (output pixel m0 + r) holds the
// kh x kw x icg window of the NHWC source, minus x_zp, zero outside the image and past K.
void im2col_rows(const ConvGeometry& g, const uint8_t* src, bool is_u8, int32_t zp, int64_t n, int64_t grp, int64_t m0,
                 int64_t rows, int64_t kp, int16_t* a) {
  const int64_t icg = g.ic / g.groups, k = g.kh * g.kw * icg;
  const bool contiguous_taps = g.dil_w == 1 && g.groups == 1;  // a window row is kw * ic bytes in a row
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t m = m0 + r, oy = m / g.ow, ox = m % g.ow;
    int16_t* row = a + r * kp;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      int16_t* seg = row + ky * g.kw * icg;
      const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
      if (iy < 0 || iy >= g.ih) {
        std::memset(seg, 0, sizeof(int16_t) * static_cast<size_t>(g.kw * icg));
        continue;
      }
      const uint8_t* line = src + ((n * g.ih + iy) * g.iw) * g.ic + grp * icg;
      const int64_t ix0 = ox * g.stride_w - g.pad_l;
      if (contiguous_taps && ix0 >= 0 && ix0 + g.kw <= g.iw) {
        widen(line + ix0 * g.ic, g.kw * g.ic, zp, is_u8, seg);
        continue;
      }
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ix0 + kx * g.dil_w;
        if (ix < 0 || ix >= g.iw)
          std::memset(seg + kx * icg, 0, sizeof(int16_t) * static_cast<size_t>(icg));
        else
          widen(line + ix * g.ic, icg, zp, is_u8, seg + kx * icg);
      }
    }
    for (int64_t i = k; i < kp; ++i) row[i] = 0;
  }
}

// The source as NHWC bytes: itself when channels-last, else reordered into `scratch`.
const uint8_t* nhwc_source(const Tensor& x, const ConvGeometry& g, bool nhwc, std::vector<uint8_t>& scratch) {
  const auto* s = static_cast<const uint8_t*>(x.raw());
  if (nhwc) return s;
  scratch.resize(static_cast<size_t>(x.numel()));
  const int64_t hw = g.ih * g.iw;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.ic; ++c) {
      const uint8_t* plane = s + (n * g.ic + c) * hw;
      uint8_t* d = scratch.data() + n * hw * g.ic + c;
      for (int64_t i = 0; i < hw; ++i) d[i * g.ic] = plane[i];
    }
  return scratch.data();
}

void run_depthwise(const PreparedConv& pc, const uint8_t* src, bool is_u8, bool dst_nhwc, const Tensor& y) {
  const ConvGeometry& g = pc.g;
  const DepthwiseGeometry dg{g.ih, g.iw, g.ic, g.oh, g.ow, g.kh, g.kw, g.stride_h, g.stride_w, g.dil_h, g.dil_w, g.pad_t, g.pad_l};
  auto* dst = static_cast<uint8_t*>(y.raw());
  const int64_t plane = g.oh * g.ow;
  const bool parallel = num_threads() > 1 && g.macs() >= kParallelMacs / 4;  // cheap per MAC: split earlier
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t row = 0; row < g.n * g.oh; ++row) {
    const int64_t n = row / g.oh, oy = row % g.oh;
    const uint8_t* image = src + n * g.ih * g.iw * g.ic;
    if (dst_nhwc)
      avx2::depthwise_row(dg, pc.depthwise, pc.requant[0], image, is_u8, pc.p.x_zp, oy, dst + row * g.ow * g.oc, g.oc, 1);
    else
      avx2::depthwise_row(dg, pc.depthwise, pc.requant[0], image, is_u8, pc.p.x_zp, oy,
                          dst + n * g.oc * plane + oy * g.ow, 1, plane);
  }
}

void run(const PreparedConv& pc, const Tensor& x, bool src_nhwc, bool dst_nhwc, const Tensor& y) {
  const ConvGeometry& g = pc.g;
  thread_local std::vector<uint8_t> reordered;
  const uint8_t* src = nhwc_source(x, g, src_nhwc, reordered);
  const bool is_u8 = x.dtype() == DType::u8;
  if (pc.weights.empty()) return run_depthwise(pc, src, is_u8, dst_nhwc, y);
  const int32_t zp = pc.p.x_zp;
  const int64_t m = g.oh * g.ow, icg = g.ic / g.groups, ocg = g.oc / g.groups;
  const int64_t kp = padded_k(g.kh * g.kw * icg), npanels = panels(ocg);
  const int64_t mc = std::clamp<int64_t>(kABlockBytes / (kp * 2) / kTileRows * kTileRows, kTileRows, kMaxBlockRows);
  const int64_t mblocks = (m + mc - 1) / mc;
  const int threads = num_threads();
  const bool parallel = threads > 1 && g.macs() >= kParallelMacs;
  // Split the columns too when there are fewer row blocks than two per thread.
  const int64_t row_tasks = g.n * g.groups * mblocks;
  const int64_t nchunks = parallel ? std::clamp<int64_t>((2 * threads + row_tasks - 1) / row_tasks, 1, npanels) : 1;
  const int64_t per_chunk = (npanels + nchunks - 1) / nchunks;
  const int64_t tasks = row_tasks * nchunks;
  auto* dst = static_cast<uint8_t*>(y.raw());
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t chunk = t % nchunks, rt = t / nchunks;
    const int64_t mb = rt % mblocks, grp = (rt / mblocks) % g.groups, n = rt / (mblocks * g.groups);
    const int64_t m0 = mb * mc, rows = std::min(mc, m - m0);
    int16_t* a = thread_a_buffer(mc * kp);
    int32_t* tile = thread_tile_buffer(mc * kPanel);
    im2col_rows(g, src, is_u8, zp, n, grp, m0, rows, kp, a);
    const PackedB& b = pc.weights[static_cast<size_t>(grp)];
    const Requant& q = pc.requant[static_cast<size_t>(grp)];
    for (int64_t j = chunk * per_chunk; j < std::min(npanels, (chunk + 1) * per_chunk); ++j) {
      for (int64_t k0 = 0; k0 < kp; k0 += kKChunk) {
        const int64_t kc = std::min(kKChunk, kp - k0);
        for (int64_t r0 = 0; r0 < rows; r0 += kTileRows)
          avx2::gemm_tile(static_cast<int>(std::min<int64_t>(kTileRows, rows - r0)), kc, a + r0 * kp + k0, kp,
                          b.panel(j) + k0 * kPanel, tile + r0 * kPanel, k0 > 0);
      }
      const int64_t c0 = j * kPanel, cols = std::min<int64_t>(kPanel, ocg - c0), oc0 = grp * ocg + c0;
      for (int64_t r0 = 0; r0 < rows; r0 += kTileRows) {
        const int rr = static_cast<int>(std::min<int64_t>(kTileRows, rows - r0));
        const int64_t pix = m0 + r0;
        if (dst_nhwc)
          avx2::store_tile(tile + r0 * kPanel, rr, static_cast<int>(cols), q, c0, dst + (n * m + pix) * g.oc + oc0, g.oc, 1);
        else
          avx2::store_tile(tile + r0 * kPanel, rr, static_cast<int>(cols), q, c0, dst + (n * g.oc + oc0) * m + pix, 1, m);
      }
    }
  }
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = check_s16_call(ctx);
  if (!why.empty()) return why;
  if (ctx.inputs[ops::kQX].rank() != 4) return "only 2-D (NCHW) convolutions";
  try {
    const ConvGeometry g = ops::conv_geometry(ctx.node, ctx.inputs[ops::kQX].shape(), ctx.inputs[ops::kQW].shape());
    const ops::QLinearParams p = ops::qlinear_params(ctx.node, ctx.inputs, g.oc);
    if (p.float_output) return "no y_scale: an f32 output";
    for (float mult : p.multiplier)
      if (!std::isfinite(mult)) return "a requantization multiplier is not finite";
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) { return prepare_conv(ctx); }

void forward(ir::ForwardCtx& ctx) {
  const bool src_nhwc = (ctx.channels_last & ir::channels_last_input(0)) != 0;
  const bool dst_nhwc = (ctx.channels_last & ir::channels_last_output(0)) != 0;
  if (ctx.prepared) {
    const auto& pc = *static_cast<const PreparedConv*>(ctx.prepared);
    LEANCNN_CHECK(ctx.inputs[ops::kQX].shape() == pc.src_shape, "prepared int8 conv for input ", shape_str(pc.src_shape),
                  " run on ", shape_str(ctx.inputs[ops::kQX].shape()));
    run(pc, ctx.inputs[ops::kQX], src_nhwc, dst_nhwc, ctx.outputs[0]);
    return;
  }
  run(*prepare_conv(ctx), ctx.inputs[ops::kQX], src_nhwc, dst_nhwc, ctx.outputs[0]);
}

ChannelsLast channels_last(const ir::ForwardCtx&) { return {ir::channels_last_input(0) | ir::channels_last_output(0), false}; }
}  // namespace

Kernel cpu_qconv_s16_avx2() {
  Kernel k;
  k.name = "cpu_qconv_s16_avx2";
  k.check_forward = check_forward;
  k.forward = forward;
  k.prepare = prepare;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
