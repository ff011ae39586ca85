// ai.leancnn BinaryConv by XNOR-popcount (leancnn/ops/binary_conv.h), 3x3, 1x1, any stride,
// padding and dilation, and 2-D (fully connected). The signs of a patch (one output pixel's
// taps x input channels) are packed densely, bit t * ic + c = tap t, channel c, 1 = +1, so a
// 3x3 patch over 16 channels takes 3 words, not 9 word-per-tap ones; the filters are packed the
// same way once (prepare) and stored transposed, word-major with the output channels in lanes
// (xnor_kernels.h), so a tile of patches meets them with no horizontal sums. Each sample's signs
// are packed per pixel as [iy][ix][ic / 64 words] first and each patch is assembled from them.
// A tap outside the input contributes zero bits to the patch, hence popcount(filter tap)
// disagreements, which are taken back from per-(oc, tap) counts, so that dot = ic * valid_taps
// - 2 * disagreements is the reference's exact integer and the output the same f32 expression
// (binary_conv_output).
#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <memory>

#include "leancnn/core/cpu.h"
#include "leancnn/ops/binary_conv.h"
#include "leancnn/ops/binary_net.h"
#include "xnor_kernels.h"

namespace leancnn::kernels::binary {
namespace {

struct PackedFilters {
  Shape src_shape;                // the input shape the geometry is for
  ops::ConvGeometry g;
  int64_t cw = 0;                 // 64-bit words per pixel of the packed input (channels / 64, rounded up)
  int64_t words = 0;              // 64-bit words per dense patch (taps * channels / 64, rounded up)
  int64_t ocp = 0;                // output channels rounded up to kOcBlock
  std::vector<uint64_t> bits;     // [words][ocp], dense patch bits of each filter, transposed
  std::vector<int32_t> tap_ones;  // [oc][kh * kw]: popcount of each filter tap
  std::vector<float> alpha, bias;
  // Per output pixel (oy * ow + ox): bit t = tap t falls outside the input (0: a window inside),
  // the bits inside the input (ic * taps inside), and the row of `corr` to take back (-1: none).
  std::vector<uint64_t> outside;
  std::vector<int64_t> valid;
  std::vector<int32_t> corr_row;
  // Per distinct border pattern, [ocp]: the disagreements its outside taps add (the zero patch
  // bits against each filter's ones there).
  std::vector<int64_t> corr;
};

// A tap mask per output pixel needs kh * kw <= 64.
constexpr int64_t kMaxTaps = 64;

std::string check_weights(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.size() < 2 || !ctx.inputs[1].defined()) return "no weights";
  if (ctx.inputs[0].dtype() != DType::f32) return "input is not f32";
  std::vector<float> alpha;
  std::string why;
  if (!ops::binary_row_scales(ctx.inputs[1], alpha, &why)) return why;
  const Shape& ws = ctx.inputs[1].shape();
  if (ws.size() == 4 && ws[2] * ws[3] > kMaxTaps) return "kernel of more than 64 taps";
  return "";
}

// ORs the low `nbits` bits of v (the higher ones zero) into the bit string dst at bit `pos`.
inline void put_bits(uint64_t* dst, int64_t pos, uint64_t v, int64_t nbits) {
  const int64_t word = pos / 64, shift = pos % 64;
  dst[word] |= v << shift;
  if (shift != 0 && shift + nbits > 64) dst[word + 1] |= v >> (64 - shift);
}

// Where each tap's channel words go in a dense patch (bit t * ic + 64 j), and each tap's pixel
// offset from a window's top-left pixel, in packed-input pixels.
struct Placement {
  std::vector<int64_t> word, shift, nbits;  // per (tap, j < cw)
  std::vector<int64_t> tap_offset;          // per tap: (ky * dil_h * iw + kx * dil_w) * cw
};

Placement placement(const ops::ConvGeometry& g, int64_t cw) {
  Placement pl;
  const int64_t taps = g.kh * g.kw;
  for (int64_t t = 0; t < taps; ++t) {
    pl.tap_offset.push_back(((t / g.kw) * g.dil_h * g.iw + (t % g.kw) * g.dil_w) * cw);
    for (int64_t j = 0; j < cw; ++j) {
      const int64_t pos = t * g.ic + 64 * j;
      pl.word.push_back(pos / 64);
      pl.shift.push_back(pos % 64);
      pl.nbits.push_back(std::min<int64_t>(64, g.ic - 64 * j));
    }
  }
  return pl;
}

// ORs tap t's channel words (ic bits in cw words, the higher bits zero) into a dense patch.
inline void put_tap(uint64_t* patch, const uint64_t* px, int64_t t, int64_t ic, int64_t cw, const Placement& pl) {
  if (ic % 64 == 0) {
    std::memcpy(patch + t * cw, px, static_cast<size_t>(cw) * 8);
    return;
  }
  for (int64_t j = 0, k = t * cw; j < cw; ++j, ++k) {
    const uint64_t v = px[j];
    const int64_t w = pl.word[static_cast<size_t>(k)], sh = pl.shift[static_cast<size_t>(k)];
    patch[w] |= v << sh;
    if (sh != 0 && sh + pl.nbits[static_cast<size_t>(k)] > 64) patch[w + 1] |= v >> (64 - sh);
  }
}

std::shared_ptr<PackedFilters> pack(const ir::ForwardCtx& ctx) {
  auto p = std::make_shared<PackedFilters>();
  p->src_shape = ctx.inputs[0].shape();
  const Tensor w = ctx.inputs[1].is_contiguous() ? ctx.inputs[1] : ctx.inputs[1].clone();
  const ops::ConvGeometry& g = p->g = ops::binary_conv_geometry(ctx.node, ctx.inputs[0].shape(), w.shape());
  ops::binary_row_scales(w, p->alpha);
  const int64_t taps = g.kh * g.kw;
  p->cw = (g.ic + 63) / 64;
  p->words = (taps * g.ic + 63) / 64;
  p->ocp = (g.oc + kOcBlock - 1) / kOcBlock * kOcBlock;
  p->bits.assign(static_cast<size_t>(p->words * p->ocp), 0);
  p->tap_ones.assign(static_cast<size_t>(g.oc * taps), 0);
  const float* wt = w.data<float>();
  std::vector<uint64_t> row(static_cast<size_t>(p->words));
  for (int64_t oc = 0; oc < g.oc; ++oc) {
    std::fill(row.begin(), row.end(), 0);
    for (int64_t ic = 0; ic < g.ic; ++ic)
      for (int64_t t = 0; t < taps; ++t)
        if (ops::sign_bit(wt[(oc * g.ic + ic) * taps + t])) {
          put_bits(row.data(), t * g.ic + ic, 1, 1);
          ++p->tap_ones[static_cast<size_t>(oc * taps + t)];
        }
    for (int64_t k = 0; k < p->words; ++k) p->bits[static_cast<size_t>(k * p->ocp + oc)] = row[static_cast<size_t>(k)];
  }
  // The border patterns, from the geometry alone.
  std::map<uint64_t, int32_t> rows;
  const int64_t pixels = g.oh * g.ow;
  p->outside.assign(static_cast<size_t>(pixels), 0);
  p->valid.assign(static_cast<size_t>(pixels), 0);
  p->corr_row.assign(static_cast<size_t>(pixels), -1);
  for (int64_t q = 0; q < pixels; ++q) {
    const int64_t iy0 = (q / g.ow) * g.stride_h - g.pad_t, ix0 = (q % g.ow) * g.stride_w - g.pad_l;
    uint64_t mask = 0;
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t iy = iy0 + (t / g.kw) * g.dil_h, ix = ix0 + (t % g.kw) * g.dil_w;
      if (iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw) mask |= uint64_t{1} << t;
    }
    const size_t qi = static_cast<size_t>(q);
    p->outside[qi] = mask;
    p->valid[qi] = g.ic * (taps - std::popcount(mask));
    if (mask == 0) continue;
    const auto [it, added] = rows.emplace(mask, static_cast<int32_t>(rows.size()));
    p->corr_row[qi] = it->second;
    if (!added) continue;
    p->corr.resize(p->corr.size() + static_cast<size_t>(p->ocp), 0);
    int64_t* back = p->corr.data() + static_cast<int64_t>(it->second) * p->ocp;
    for (int64_t t = 0; t < taps; ++t)
      if (mask >> t & 1)
        for (int64_t oc = 0; oc < g.oc; ++oc) back[oc] += p->tap_ones[static_cast<size_t>(oc * taps + t)];
  }
  p->alpha.resize(static_cast<size_t>(p->ocp), 0.f);  // padded channels: outputs computed, never stored
  p->bias.assign(static_cast<size_t>(p->ocp), 0.f);
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined()) {
    const Tensor b = ctx.inputs[2].clone();
    std::copy(b.data<float>(), b.data<float>() + g.oc, p->bias.begin());
  }
  return p;
}

void run(ir::ForwardCtx& ctx, PackSigns pack_fn, XorPopcountTile tile_fn) {
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
  const int64_t taps = g.kh * g.kw, cw = pf->cw, words = pf->words, ocp = pf->ocp, plane = g.ih * g.iw,
                image = g.ic * plane;
  std::vector<uint64_t> xb(static_cast<size_t>(plane * cw));
  const Placement pl = placement(g, cw);
  float* dst = ctx.outputs[0].data<float>();
  const int64_t pixels = g.oh * g.ow, tiles = (pixels + kTilePixels - 1) / kTilePixels;
  const int threads = tiles > 1 ? num_threads() : 1;
  const bool whole_words = g.ic % 64 == 0;
  for (int64_t n = 0; n < n_batch; ++n) {
    const float* src = x.data<float>() + n * image;
    const float beta = scaled ? ops::mean_abs_scale(src, image) : 1.f;
    std::fill(xb.begin(), xb.end(), 0);
    pack_fn(src, g.ic, plane, cw, xb.data());
    float* out = dst + n * g.oc * pixels;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      std::vector<uint64_t> patches(static_cast<size_t>(kTilePixels * words));
      // Tiles of kTilePixels consecutive output pixels in raster order (across rows), so every
      // tile but the last is full and its outputs are consecutive in each channel's plane.
#pragma omp for schedule(static)
      for (int64_t tile = 0; tile < tiles; ++tile) {
        const int64_t q0 = tile * kTilePixels, np = std::min(kTilePixels, pixels - q0);
        TileArgs a{patches.data(), np, pf->bits.data(), words, ocp, {}, pf->valid.data() + q0, pf->alpha.data(),
                   pf->bias.data(), beta, out + q0, pixels, g.oc};
        std::fill(patches.begin(), patches.begin() + np * words, 0);
        for (int64_t p = 0; p < np; ++p) {
          const size_t q = static_cast<size_t>(q0 + p);
          uint64_t* patch = patches.data() + p * words;
          const int64_t iy0 = ((q0 + p) / g.ow) * g.stride_h - g.pad_t, ix0 = ((q0 + p) % g.ow) * g.stride_w - g.pad_l;
          const int64_t at = (iy0 * g.iw + ix0) * cw;  // the window's top-left word (maybe outside: < 0)
          const uint64_t outside = pf->outside[q];
          if (outside == 0 && whole_words) {  // every tap inside, each a run of cw whole words
            for (int64_t t = 0; t < taps; ++t) {
              const uint64_t* px = xb.data() + (at + pl.tap_offset[static_cast<size_t>(t)]);
              for (int64_t j = 0; j < cw; ++j) patch[t * cw + j] = px[j];
            }
            continue;
          }
          for (int64_t t = 0; t < taps; ++t)
            if (!(outside >> t & 1)) put_tap(patch, xb.data() + (at + pl.tap_offset[static_cast<size_t>(t)]), t, g.ic, cw, pl);
          if (outside != 0) a.outside[p] = pf->corr.data() + static_cast<int64_t>(pf->corr_row[q]) * ocp;
        }
        tile_fn(a);
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
void forward_avx512(ir::ForwardCtx& ctx) { run(ctx, pack_signs_avx512, xor_popcount_tile_avx512); }
void forward_avx2(ir::ForwardCtx& ctx) { run(ctx, pack_signs_avx2, xor_popcount_tile_avx2); }

}  // namespace

Kernel cpu_binary_conv_b1_avx512() {
  return {"cpu_binary_conv_b1_avx512", check_avx512, forward_avx512, nullptr, nullptr, prepare, nullptr};
}
Kernel cpu_binary_conv_b1_avx2() {
  return {"cpu_binary_conv_b1_avx2", check_avx2, forward_avx2, nullptr, nullptr, prepare, nullptr};
}

}  // namespace leancnn::kernels::binary
