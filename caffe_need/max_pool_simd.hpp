// caffe_need: the values-only MAX pooling (TEST phase, no mask top) of one
// channel plane for windows 2 or 3 wide at horizontal stride 2 without padding,
// MTCNN's 3/2 and 2/2 pools, in AVX2.  R-Net's and O-Net's planes are 9-46
// pixels wide, too short for pooling_layer.cpp's row loop to leave its scalar
// tails and per-window work: that loop was 13-18 % of their time on batches of
// 64 candidates (bench/mtcnn_layer_times.py --candidates 64,64).  Here the whole plane is two vector passes:
//   1. per output row, the element-wise maximum of its window's input rows
//      (any window height and vertical stride, windows clipped at the bottom
//      edge in Caffe's ceil mode) into a scratch row of even length 2 * PW + 2,
//      filled with -FLT_MAX past the input's width;
//   2. over the scratch rows taken as one flat array, out[j] = max(s[2j],
//      s[2j + 1] (, s[2j + 2])) eight at a time from even/odd de-interleaved
//      loads: with the even row length, flat output j = ph * (PW + 1) + pw is
//      output (ph, pw), the -FLT_MAX fill completes the windows clipped at the
//      right edge, and the one extra output per row is dropped when the rows
//      are copied out.
// Every maximum is x > acc ? x : acc from -FLT_MAX, the stock loop's comparison,
// so a NaN never wins, a window of -inf gives -FLT_MAX, and the values equal the
// stock ones (a zero may come out with the other sign, as '>' does not order
// signed zeros).  No Caffe headers but simd_vectors.hpp; pooling_layer.cpp
// decides when to use it (tests/test_caffe_need_fast_layers.py).
#ifndef CAFFE_NEED_MAX_POOL_SIMD_HPP_
#define CAFFE_NEED_MAX_POOL_SIMD_HPP_

#include <algorithm>
#include <cfloat>
#include <cstring>

#include "caffe/layers/simd_vectors.hpp"

namespace caffe {
namespace max_pool_simd {

using simd::v8f;
using simd::v8i;
using simd::load8;
using simd::store8;
using simd::splat;

// The input rows must hold at least one vector.
constexpr int kMinWidth = 8;

// Floats of scratch that plane() needs: the scratch rows, 32 more of -FLT_MAX
// that the last loads of pass 2 may reach, and the flat outputs (rounded up to 8).
inline int scratch_floats(int pooled_height, int pooled_width) {
  const int rows = pooled_height * (2 * pooled_width + 2);
  return rows + 32 + rows / 2 + 8;
}

CAFFE_NEED_INLINE v8f max_of(const v8f& x, const v8f& acc) { return x > acc ? x : acc; }

template <int KW>
CAFFE_NEED_INLINE void plane(const float* in, int height, int width, int pooled_height,
    int pooled_width, int kernel_h, int stride_h, float* out, float* scratch) {
  const int row_len = 2 * pooled_width + 2;
  const v8f lowest = splat(-FLT_MAX);
  float* rows = scratch;
  // pass 1; the last vector of a row ends at the row's end, recomputing a few
  // maxima rather than leaving a scalar tail
  for (int ph = 0; ph < pooled_height; ++ph) {
    const int h0 = ph * stride_h, h1 = std::min(h0 + kernel_h, height);
    float* row = rows + ph * row_len;
    for (int x = 0;; x += 8) {
      x = std::min(x, width - 8);
      v8f acc = lowest;
      for (int h = h0; h < h1; ++h) acc = max_of(load8(in + h * width + x), acc);
      store8(row + x, acc);
      if (x + 8 >= width) break;
    }
    std::fill(row + width, row + row_len, -FLT_MAX);
  }
  // pass 2
  const int flat_count = pooled_height * (pooled_width + 1);
  float* end = rows + pooled_height * row_len;
  std::fill(end, end + 32, -FLT_MAX);
  float* flat = end + 32;
  const v8i even = {0, 2, 4, 6, 8, 10, 12, 14}, odd = even + 1;
  for (int j = 0; j < flat_count; j += 8) {
    const float* s = rows + 2 * j;
    const v8f a = load8(s), b = load8(s + 8);
    v8f best = max_of(__builtin_shuffle(a, b, odd), __builtin_shuffle(a, b, even));
    if (KW == 3) best = max_of(__builtin_shuffle(load8(s + 2), load8(s + 10), even), best);
    store8(flat + j, best);
  }
  for (int ph = 0; ph < pooled_height; ++ph) {
    std::memcpy(out + ph * pooled_width, flat + ph * (pooled_width + 1),
        pooled_width * sizeof(float));
  }
}

#if defined(__x86_64__) || defined(__i386__)
// Only the AVX2 build: with SSE2 alone GCC emulates the 8-lane shuffles and
// this was slower than pooling_layer.cpp's loop.
__attribute__((target("avx2,fma"))) inline void plane_avx2(const float* in, int height,
    int width, int pooled_height, int pooled_width, int kernel_w, int kernel_h, int stride_h,
    float* out, float* scratch) {
  if (kernel_w == 3) {
    plane<3>(in, height, width, pooled_height, pooled_width, kernel_h, stride_h, out, scratch);
  } else {
    plane<2>(in, height, width, pooled_height, pooled_width, kernel_h, stride_h, out, scratch);
  }
}
#endif

// One plane (the geometry of applies(), kernel_w 2 or 3) -> out, pooled_height x
// pooled_width; scratch holds scratch_floats(pooled_height, pooled_width).
inline void pool_plane(const float* in, int height, int width, int pooled_height,
    int pooled_width, int kernel_w, int kernel_h, int stride_h, float* out, float* scratch) {
#if defined(__x86_64__) || defined(__i386__)
  plane_avx2(in, height, width, pooled_height, pooled_width, kernel_w, kernel_h, stride_h, out,
      scratch);
#endif  // elsewhere applies() is false and nothing calls this
}

// Whether pool_plane takes this geometry on this CPU.
inline bool applies(int width, int kernel_w, int stride_w, int pad_h, int pad_w) {
#if defined(__x86_64__) || defined(__i386__)
  return simd::cpu_has_avx2_fma() && width >= kMinWidth && (kernel_w == 2 || kernel_w == 3) &&
      stride_w == 2 && pad_h == 0 && pad_w == 0;
#else
  return false;
#endif
}

}  // namespace max_pool_simd
}  // namespace caffe

#endif  // CAFFE_NEED_MAX_POOL_SIMD_HPP_
