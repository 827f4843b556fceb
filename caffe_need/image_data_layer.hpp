#ifndef CAFFE_IMAGE_DATA_LAYER_HPP_
#define CAFFE_IMAGE_DATA_LAYER_HPP_

#include <string>
#include <vector>

#include "caffe/blob.hpp"
#include "caffe/data_transformer.hpp"
#include "caffe/internal_thread.hpp"
#include "caffe/layer.hpp"
#include "caffe/layers/base_data_layer.hpp"
#include "caffe/proto/caffe.pb.h"

namespace caffe {

/**
 * @brief Images from a list file, with one or several float labels per image.
 *
 * Each non-blank line of image_data_param.source is
 *     relative/path v1 ... vK
 * K is taken from the first line and every line must have it.  K == 1 (the
 * stock "path class" lists) gives a label top of shape N, as the stock layer;
 * K > 1 gives N x K floats (e.g. 10 landmark coordinates).
 *
 * Unlike the stock layer, bad input does not abort the process: a malformed
 * line, a missing image, or mirror with K > 1 (a flip would need a left/right
 * point swap, which belongs in data generation) throw std::runtime_error at
 * setup, naming the list file and line; pycaffe raises it as RuntimeError.
 * An image that exists but cannot be decoded is skipped (with a warning
 * naming its line) when batches are loaded, and counted.
 */
template <typename Dtype>
class ImageDataLayer : public BasePrefetchingDataLayer<Dtype> {
 public:
  explicit ImageDataLayer(const LayerParameter& param)
      : BasePrefetchingDataLayer<Dtype>(param) {}
  virtual ~ImageDataLayer();
  virtual void DataLayerSetUp(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);

  virtual inline const char* type() const { return "ImageData"; }
  virtual inline int ExactNumBottomBlobs() const { return 0; }
  virtual inline int ExactNumTopBlobs() const { return 2; }

 protected:
  struct Sample {
    std::string path;
    int line;              // 1-based line number in the list file
    vector<Dtype> labels;  // label_dim_ values
  };
  shared_ptr<Caffe::RNG> prefetch_rng_;
  virtual void ShuffleImages();
  virtual void load_batch(Batch<Dtype>* batch);
  void ReadList(const std::string& source);
  void Advance();

  vector<Sample> samples_;
  int lines_id_;
  int label_dim_;
  int skipped_;
};

}  // namespace caffe

#endif  // CAFFE_IMAGE_DATA_LAYER_HPP_
