// Caffe's own test harness (gtest, GradientChecker) on caffe_need's layers.
//
// docker/build_caffe.sh builds this file into <prefix>/bin/test_caffe_need_layers
// (Caffe's test main: `test_caffe_need_layers [GPU id] [--gtest_filter=...]`).
// tests/test_caffe_need.py runs the CPU build's; tests/test_cuda_build.py runs
// the CUDA build's where a GPU is visible.  In a CUDA build every typed test
// runs on the CPU and on the GPU (Caffe's TestDtypesAndDevices), and the GPU
// tests at the end compare our faster CPU forwards (PReLU, MAX pooling, the
// direct convolution) with the stock CUDA kernels of the same layers: an
// independent reference for the code that replaced the stock CPU loops.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "gtest/gtest.h"

#include "caffe/blob.hpp"
#include "caffe/common.hpp"
#include "caffe/filler.hpp"
#include "caffe/layers/conv_dw_layer.hpp"
#include "caffe/layers/conv_layer.hpp"
#include "caffe/layers/pooling_layer.hpp"
#include "caffe/layers/prelu_layer.hpp"
#include "caffe/test/test_caffe_main.hpp"
#include "caffe/test/test_gradient_check_util.hpp"
#include "caffe/util/math_functions.hpp"

namespace caffe {

// Every geometry the depthwise kernels branch on: stride, padding, dilation,
// non-square kernels, bias on/off, and a size that spans many CUDA blocks.
struct DepthwiseCase {
  int num, channels, height, width;
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  bool bias;
};

const DepthwiseCase kDepthwiseCases[] = {
  {2, 4, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, true},      // MobileNet's 3x3, stride 1, pad 1
  {2, 4, 9, 7, 3, 3, 2, 2, 1, 1, 1, 1, true},      // 3x3, stride 2, pad 1
  {1, 3, 8, 8, 3, 3, 1, 1, 0, 0, 1, 1, false},     // no pad, no bias
  {2, 2, 10, 9, 3, 2, 2, 1, 2, 0, 2, 1, true},     // non-square kernel, mixed stride/pad/dilation
  {1, 5, 6, 6, 1, 1, 1, 1, 0, 0, 1, 1, true},      // 1x1
  {2, 32, 24, 24, 3, 3, 1, 1, 1, 1, 1, 1, true},   // level 1's first bottleneck size
};

// |a - b| within tol relative to the larger magnitude (1 at least).
template <typename Dtype>
void ExpectBlobsNear(const Dtype* a, const Dtype* b, int count, double tol, const char* what,
                     int case_index) {
  for (int i = 0; i < count; ++i) {
    const double scale = std::max(1.0, std::max(std::fabs(static_cast<double>(a[i])),
                                                std::fabs(static_cast<double>(b[i]))));
    ASSERT_NEAR(a[i], b[i], tol * scale) << what << ", case " << case_index << ", index " << i;
  }
}

template <typename TypeParam>
class ConvolutionDepthwiseLayerTest : public MultiDeviceTest<TypeParam> {
  typedef typename TypeParam::Dtype Dtype;

 protected:
  // float sums of up to a few thousand products: 1e-4 relative; double: 1e-9
  double Tolerance() const { return sizeof(Dtype) == sizeof(float) ? 1e-4 : 1e-9; }

  LayerParameter Param(const DepthwiseCase& c, bool grouped) const {
    LayerParameter param;
    ConvolutionParameter* conv = param.mutable_convolution_param();
    conv->set_num_output(c.channels);
    conv->set_kernel_h(c.kernel_h);
    conv->set_kernel_w(c.kernel_w);
    conv->set_stride_h(c.stride_h);
    conv->set_stride_w(c.stride_w);
    conv->set_pad_h(c.pad_h);
    conv->set_pad_w(c.pad_w);
    conv->add_dilation(c.dilation_h);
    conv->add_dilation(c.dilation_w);
    conv->set_bias_term(c.bias);
    if (grouped) conv->set_group(c.channels);
    conv->mutable_weight_filler()->set_type("gaussian");
    conv->mutable_bias_filler()->set_type("gaussian");
    return param;
  }
};

TYPED_TEST_CASE(ConvolutionDepthwiseLayerTest, TestDtypesAndDevices);

// Forward and every gradient (bottom, weights, bias) equal the stock Convolution
// with group == channels on the same blobs: the layer is a drop-in replacement.
TYPED_TEST(ConvolutionDepthwiseLayerTest, TestEqualsGroupedConvolution) {
  typedef typename TypeParam::Dtype Dtype;
  const int n_cases = sizeof(kDepthwiseCases) / sizeof(kDepthwiseCases[0]);
  for (int k = 0; k < n_cases; ++k) {
    const DepthwiseCase& c = kDepthwiseCases[k];
    Blob<Dtype> bottom(c.num, c.channels, c.height, c.width);
    Blob<Dtype> bottom_ref(c.num, c.channels, c.height, c.width);
    Blob<Dtype> top, top_ref;
    FillerParameter filler_param;
    filler_param.set_std(1.0);
    GaussianFiller<Dtype> filler(filler_param);
    filler.Fill(&bottom);
    bottom_ref.CopyFrom(bottom);
    vector<Blob<Dtype>*> bottom_vec(1, &bottom), top_vec(1, &top);
    vector<Blob<Dtype>*> bottom_ref_vec(1, &bottom_ref), top_ref_vec(1, &top_ref);

    ConvolutionDepthwiseLayer<Dtype> layer(this->Param(c, false));
    ConvolutionLayer<Dtype> ref(this->Param(c, true));
    layer.SetUp(bottom_vec, top_vec);
    ref.SetUp(bottom_ref_vec, top_ref_vec);
    ASSERT_EQ(layer.blobs().size(), ref.blobs().size());
    for (int b = 0; b < layer.blobs().size(); ++b) {
      ASSERT_TRUE(layer.blobs()[b]->shape() == ref.blobs()[b]->shape()) << "blob " << b;
      ref.blobs()[b]->CopyFrom(*layer.blobs()[b]);
    }
    ASSERT_TRUE(top.shape() == top_ref.shape()) << "case " << k;

    layer.Forward(bottom_vec, top_vec);
    ref.Forward(bottom_ref_vec, top_ref_vec);
    ExpectBlobsNear(top.cpu_data(), top_ref.cpu_data(), top.count(), this->Tolerance(),
                    "forward", k);

    Blob<Dtype> top_diff(top.shape());  // the same top gradient for both
    filler.Fill(&top_diff);
    caffe_copy(top.count(), top_diff.cpu_data(), top.mutable_cpu_diff());
    caffe_copy(top.count(), top_diff.cpu_data(), top_ref.mutable_cpu_diff());
    for (int b = 0; b < layer.blobs().size(); ++b) {
      caffe_set(layer.blobs()[b]->count(), Dtype(0), layer.blobs()[b]->mutable_cpu_diff());
      caffe_set(ref.blobs()[b]->count(), Dtype(0), ref.blobs()[b]->mutable_cpu_diff());
    }
    vector<bool> propagate_down(1, true);
    layer.Backward(top_vec, propagate_down, bottom_vec);
    ref.Backward(top_ref_vec, propagate_down, bottom_ref_vec);
    ExpectBlobsNear(bottom.cpu_diff(), bottom_ref.cpu_diff(), bottom.count(), this->Tolerance(),
                    "bottom gradient", k);
    ExpectBlobsNear(layer.blobs()[0]->cpu_diff(), ref.blobs()[0]->cpu_diff(),
                    layer.blobs()[0]->count(), this->Tolerance(), "weight gradient", k);
    if (c.bias) {
      ExpectBlobsNear(layer.blobs()[1]->cpu_diff(), ref.blobs()[1]->cpu_diff(),
                      layer.blobs()[1]->count(), this->Tolerance(), "bias gradient", k);
    }
  }
}

// Caffe's finite-difference check of every gradient, on the small cases with one
// image (it runs two forwards per input and parameter for every output: on a GPU
// each forward is a round trip).
TYPED_TEST(ConvolutionDepthwiseLayerTest, TestGradient) {
  typedef typename TypeParam::Dtype Dtype;
  for (int k = 0; k < 4; ++k) {
    const DepthwiseCase& c = kDepthwiseCases[k];
    Blob<Dtype> bottom(1, c.channels, c.height, c.width), top;
    FillerParameter filler_param;
    GaussianFiller<Dtype> filler(filler_param);
    filler.Fill(&bottom);
    vector<Blob<Dtype>*> bottom_vec(1, &bottom), top_vec(1, &top);
    ConvolutionDepthwiseLayer<Dtype> layer(this->Param(c, false));
    GradientChecker<Dtype> checker(1e-2, 1e-3);
    checker.CheckGradientExhaustive(&layer, bottom_vec, top_vec);
  }
}

#ifndef CPU_ONLY

// Our CPU forwards against the stock GPU kernels of the same layer and blobs.
class CpuForwardVsStockGpuTest : public GPUDeviceTest<float> {
 protected:
  // Runs layer_param's layer on bottom on the CPU, then a fresh copy with the
  // same parameter blobs on the GPU; returns max |cpu - gpu| / max(1, |gpu|).
  float MaxRelativeDifference(const LayerParameter& layer_param, Blob<float>* bottom) {
    Blob<float> top_cpu, top_gpu;
    vector<Blob<float>*> bottom_vec(1, bottom);
    vector<Blob<float>*> top_cpu_vec(1, &top_cpu), top_gpu_vec(1, &top_gpu);
    shared_ptr<Layer<float> > on_cpu(MakeLayer(layer_param));
    shared_ptr<Layer<float> > on_gpu(MakeLayer(layer_param));
    on_cpu->SetUp(bottom_vec, top_cpu_vec);
    on_gpu->SetUp(bottom_vec, top_gpu_vec);
    for (int b = 0; b < on_cpu->blobs().size(); ++b) on_gpu->blobs()[b]->CopyFrom(*on_cpu->blobs()[b]);
    Caffe::set_mode(Caffe::CPU);
    on_cpu->Forward(bottom_vec, top_cpu_vec);
    Caffe::set_mode(Caffe::GPU);
    on_gpu->Forward(bottom_vec, top_gpu_vec);
    EXPECT_TRUE(top_cpu.shape() == top_gpu.shape());
    const float* a = top_cpu.cpu_data();
    const float* b = top_gpu.cpu_data();
    float worst = 0;
    for (int i = 0; i < top_gpu.count(); ++i) {
      worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(1.0f, std::fabs(b[i])));
    }
    return worst;
  }

  static Layer<float>* MakeLayer(const LayerParameter& p) {
    if (p.type() == "PReLU") return new PReLULayer<float>(p);
    if (p.type() == "Pooling") return new PoolingLayer<float>(p);
    return new ConvolutionLayer<float>(p);
  }

  void Fill(Blob<float>* blob) {
    FillerParameter filler_param;
    filler_param.set_std(1.0);
    GaussianFiller<float> filler(filler_param);
    filler.Fill(blob);
  }
};

TEST_F(CpuForwardVsStockGpuTest, PReLU) {
  Blob<float> bottom(3, 10, 17, 23);
  Fill(&bottom);
  LayerParameter p;
  p.set_type("PReLU");
  p.mutable_prelu_param()->mutable_filler()->set_type("gaussian");
  EXPECT_LT(MaxRelativeDifference(p, &bottom), 1e-6);
}

// MTCNN's 3/2 and 2/2 MAX pooling (the AVX2 kernel's geometry), in the TEST
// phase (values only, our fast path), on odd and even sizes (ceil rounding).
TEST_F(CpuForwardVsStockGpuTest, MaxPooling) {
  const int geometry[][2] = {{3, 2}, {2, 2}};
  const int sizes[][2] = {{22, 22}, {23, 41}, {9, 9}};
  for (int g = 0; g < 2; ++g) {
    for (int s = 0; s < 3; ++s) {
      Blob<float> bottom(2, 28, sizes[s][0], sizes[s][1]);
      Fill(&bottom);
      LayerParameter p;
      p.set_type("Pooling");
      p.set_phase(TEST);
      p.mutable_pooling_param()->set_pool(PoolingParameter_PoolMethod_MAX);
      p.mutable_pooling_param()->set_kernel_size(geometry[g][0]);
      p.mutable_pooling_param()->set_stride(geometry[g][1]);
      EXPECT_EQ(MaxRelativeDifference(p, &bottom), 0) << "kernel " << geometry[g][0] << " size "
                                                       << sizes[s][0] << "x" << sizes[s][1];
    }
  }
}

// P-Net's convolutions (the direct CPU path: stride 1, no pad, outputs >= 40
// wide) and R-Net's (the GEMM after the row im2col).
TEST_F(CpuForwardVsStockGpuTest, Convolution) {
  const int shapes[][5] = {  // num, channels in, height, width, channels out
    {1, 3, 61, 83, 10}, {1, 10, 30, 45, 16}, {1, 16, 28, 44, 32}, {4, 28, 11, 11, 48}};
  for (int s = 0; s < 4; ++s) {
    Blob<float> bottom(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3]);
    Fill(&bottom);
    LayerParameter p;
    p.set_type("Convolution");
    ConvolutionParameter* conv = p.mutable_convolution_param();
    conv->set_num_output(shapes[s][4]);
    conv->add_kernel_size(3);
    conv->mutable_weight_filler()->set_type("gaussian");
    conv->mutable_bias_filler()->set_type("gaussian");
    // float sums of up to 252 products in another order (OpenBLAS or our direct loop
    // against cuBLAS): 1.1e-5 seen on an H200 for R-Net's, so 1e-4
    EXPECT_LT(MaxRelativeDifference(p, &bottom), 1e-4) << "shape " << s;
  }
}

#endif  // CPU_ONLY

}  // namespace caffe
