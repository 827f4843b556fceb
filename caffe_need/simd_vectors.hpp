// caffe_need: 8-float vectors for the hand-vectorised CPU kernels (direct_conv.hpp,
// max_pool_simd.hpp), written with GCC vector types so that one source compiles
// to AVX2 in a function with target("avx2,fma") and to pairs of SSE2 registers
// elsewhere.  Self-contained (no Caffe headers).
#ifndef CAFFE_NEED_SIMD_VECTORS_HPP_
#define CAFFE_NEED_SIMD_VECTORS_HPP_

namespace caffe {
namespace simd {

// 8 floats: one AVX register, two SSE2 ones in the baseline build.
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

#define CAFFE_NEED_INLINE inline __attribute__((always_inline))

CAFFE_NEED_INLINE v8f load8(const float* p) {
  v8f v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

CAFFE_NEED_INLINE void store8(float* p, const v8f& v) { __builtin_memcpy(p, &v, sizeof(v)); }

// A broadcast (vbroadcastss): lane 0 copied to all lanes.
CAFFE_NEED_INLINE v8f splat(float x) {
  v8f v = {};
  v[0] = x;
  return __builtin_shuffle(v, v8i{});
}

// Whether this CPU runs the functions compiled with target("avx2,fma").
inline bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

}  // namespace simd
}  // namespace caffe

#endif  // CAFFE_NEED_SIMD_VECTORS_HPP_
