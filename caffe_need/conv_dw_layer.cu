#include <vector>

#include "caffe/layers/conv_dw_layer.hpp"
#include "caffe/util/math_functions.hpp"

namespace caffe {

// One thread per output element.
template <typename Dtype>
__global__ void ConvDWForward(const int nthreads, const Dtype* in,
    const Dtype* weight, const Dtype* bias, const int channels,
    const int height, const int width, const int top_height,
    const int top_width, const int kernel_h, const int kernel_w,
    const int stride_h, const int stride_w, const int pad_h, const int pad_w,
    const int dilation_h, const int dilation_w, Dtype* out) {
  CUDA_KERNEL_LOOP(index, nthreads) {
    const int ow = index % top_width;
    const int oh = (index / top_width) % top_height;
    const int nc = index / top_width / top_height;
    const int c = nc % channels;
    const Dtype* src = in + nc * height * width;
    const Dtype* w = weight + c * kernel_h * kernel_w;
    Dtype sum = bias ? bias[c] : Dtype(0);
    for (int kh = 0; kh < kernel_h; ++kh) {
      const int ih = oh * stride_h - pad_h + kh * dilation_h;
      if (ih < 0 || ih >= height) continue;
      for (int kw = 0; kw < kernel_w; ++kw) {
        const int iw = ow * stride_w - pad_w + kw * dilation_w;
        if (iw < 0 || iw >= width) continue;
        sum += w[kh * kernel_w + kw] * src[ih * width + iw];
      }
    }
    out[index] = sum;
  }
}

// One thread per input element: gathers the outputs that read it, so no
// atomics are needed.
template <typename Dtype>
__global__ void ConvDWBackwardBottom(const int nthreads, const Dtype* top_diff,
    const Dtype* weight, const int channels, const int height,
    const int width, const int top_height, const int top_width,
    const int kernel_h, const int kernel_w, const int stride_h,
    const int stride_w, const int pad_h, const int pad_w,
    const int dilation_h, const int dilation_w, Dtype* bottom_diff) {
  CUDA_KERNEL_LOOP(index, nthreads) {
    const int iw = index % width;
    const int ih = (index / width) % height;
    const int nc = index / width / height;
    const int c = nc % channels;
    const Dtype* tdiff = top_diff + nc * top_height * top_width;
    const Dtype* w = weight + c * kernel_h * kernel_w;
    Dtype sum = 0;
    for (int kh = 0; kh < kernel_h; ++kh) {
      const int h = ih + pad_h - kh * dilation_h;  // = oh * stride_h
      if (h < 0 || h % stride_h != 0) continue;
      const int oh = h / stride_h;
      if (oh >= top_height) continue;
      for (int kw = 0; kw < kernel_w; ++kw) {
        const int ww = iw + pad_w - kw * dilation_w;
        if (ww < 0 || ww % stride_w != 0) continue;
        const int ow = ww / stride_w;
        if (ow >= top_width) continue;
        sum += w[kh * kernel_w + kw] * tdiff[oh * top_width + ow];
      }
    }
    bottom_diff[index] = sum;
  }
}

// One thread per (channel, kh, kw) weight: sums over batch and output pixels.
template <typename Dtype>
__global__ void ConvDWBackwardWeight(const int nthreads, const Dtype* top_diff,
    const Dtype* in, const int num, const int channels, const int height,
    const int width, const int top_height, const int top_width,
    const int kernel_h, const int kernel_w, const int stride_h,
    const int stride_w, const int pad_h, const int pad_w,
    const int dilation_h, const int dilation_w, Dtype* weight_diff) {
  CUDA_KERNEL_LOOP(index, nthreads) {
    const int kw = index % kernel_w;
    const int kh = (index / kernel_w) % kernel_h;
    const int c = index / kernel_w / kernel_h;
    Dtype sum = 0;
    for (int n = 0; n < num; ++n) {
      const Dtype* src = in + (n * channels + c) * height * width;
      const Dtype* tdiff = top_diff + (n * channels + c) * top_height * top_width;
      for (int oh = 0; oh < top_height; ++oh) {
        const int ih = oh * stride_h - pad_h + kh * dilation_h;
        if (ih < 0 || ih >= height) continue;
        for (int ow = 0; ow < top_width; ++ow) {
          const int iw = ow * stride_w - pad_w + kw * dilation_w;
          if (iw < 0 || iw >= width) continue;
          sum += tdiff[oh * top_width + ow] * src[ih * width + iw];
        }
      }
    }
    weight_diff[index] += sum;
  }
}

// One thread per channel.
template <typename Dtype>
__global__ void ConvDWBackwardBias(const int nthreads, const Dtype* top_diff,
    const int num, const int channels, const int plane, Dtype* bias_diff) {
  CUDA_KERNEL_LOOP(c, nthreads) {
    Dtype sum = 0;
    for (int n = 0; n < num; ++n) {
      const Dtype* tdiff = top_diff + (n * channels + c) * plane;
      for (int i = 0; i < plane; ++i) sum += tdiff[i];
    }
    bias_diff[c] += sum;
  }
}

template <typename Dtype>
void ConvolutionDepthwiseLayer<Dtype>::Forward_gpu(
    const vector<Blob<Dtype>*>& bottom, const vector<Blob<Dtype>*>& top) {
  const int count = top[0]->count();
  const Dtype* bias = bias_term_ ? this->blobs_[1]->gpu_data() : NULL;
  // NOLINT_NEXT_LINE(whitespace/operators)
  ConvDWForward<Dtype><<<CAFFE_GET_BLOCKS(count), CAFFE_CUDA_NUM_THREADS>>>(
      count, bottom[0]->gpu_data(), this->blobs_[0]->gpu_data(), bias,
      channels_, height_, width_, top_height_, top_width_, kernel_h_,
      kernel_w_, stride_h_, stride_w_, pad_h_, pad_w_, dilation_h_,
      dilation_w_, top[0]->mutable_gpu_data());
  CUDA_POST_KERNEL_CHECK;
}

template <typename Dtype>
void ConvolutionDepthwiseLayer<Dtype>::Backward_gpu(
    const vector<Blob<Dtype>*>& top, const vector<bool>& propagate_down,
    const vector<Blob<Dtype>*>& bottom) {
  const Dtype* top_diff = top[0]->gpu_diff();
  const int num = bottom[0]->num();
  if (bias_term_ && this->param_propagate_down_[1]) {
    // NOLINT_NEXT_LINE(whitespace/operators)
    ConvDWBackwardBias<Dtype><<<CAFFE_GET_BLOCKS(channels_), CAFFE_CUDA_NUM_THREADS>>>(
        channels_, top_diff, num, channels_, top_height_ * top_width_,
        this->blobs_[1]->mutable_gpu_diff());
    CUDA_POST_KERNEL_CHECK;
  }
  if (this->param_propagate_down_[0]) {
    const int count = this->blobs_[0]->count();
    // NOLINT_NEXT_LINE(whitespace/operators)
    ConvDWBackwardWeight<Dtype><<<CAFFE_GET_BLOCKS(count), CAFFE_CUDA_NUM_THREADS>>>(
        count, top_diff, bottom[0]->gpu_data(), num, channels_, height_,
        width_, top_height_, top_width_, kernel_h_, kernel_w_, stride_h_,
        stride_w_, pad_h_, pad_w_, dilation_h_, dilation_w_,
        this->blobs_[0]->mutable_gpu_diff());
    CUDA_POST_KERNEL_CHECK;
  }
  if (propagate_down[0]) {
    const int count = bottom[0]->count();
    // NOLINT_NEXT_LINE(whitespace/operators)
    ConvDWBackwardBottom<Dtype><<<CAFFE_GET_BLOCKS(count), CAFFE_CUDA_NUM_THREADS>>>(
        count, top_diff, this->blobs_[0]->gpu_data(), channels_, height_,
        width_, top_height_, top_width_, kernel_h_, kernel_w_, stride_h_,
        stride_w_, pad_h_, pad_w_, dilation_h_, dilation_w_,
        bottom[0]->mutable_gpu_diff());
    CUDA_POST_KERNEL_CHECK;
  }
}

INSTANTIATE_LAYER_GPU_FUNCS(ConvolutionDepthwiseLayer);

}  // namespace caffe
