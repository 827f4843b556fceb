#ifdef USE_OPENCV
#include <opencv2/core/core.hpp>

#include <cerrno>
#include <cstdlib>
#include <fstream>  // NOLINT(readability/streams)
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "caffe/data_transformer.hpp"
#include "caffe/layers/base_data_layer.hpp"
#include "caffe/layers/image_data_layer.hpp"
#include "caffe/util/benchmark.hpp"
#include "caffe/util/io.hpp"
#include "caffe/util/math_functions.hpp"
#include "caffe/util/rng.hpp"

namespace caffe {

namespace {

// Errors found while reading the list: thrown rather than CHECKed, so that
// pycaffe reports them as a Python RuntimeError instead of aborting.
void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error("ImageData: " + where + ": " + what);
}

std::string at(const std::string& source, int line) {
  std::ostringstream s;
  s << source << ":" << line;
  return s.str();
}

}  // namespace

template <typename Dtype>
ImageDataLayer<Dtype>::~ImageDataLayer<Dtype>() {
  this->StopInternalThread();
}

template <typename Dtype>
void ImageDataLayer<Dtype>::ReadList(const std::string& source) {
  std::ifstream infile(source.c_str());
  if (!infile.is_open()) fail(source, "cannot open the list file");
  const std::string root = this->layer_param_.image_data_param().root_folder();
  label_dim_ = 0;
  int first_line = 0;
  std::string line;
  for (int line_no = 1; std::getline(infile, line); ++line_no) {
    if (!line.empty() && line[line.size() - 1] == '\r') line.erase(line.size() - 1);
    std::istringstream tokens(line);
    Sample s;
    if (!(tokens >> s.path)) continue;  // blank line
    s.line = line_no;
    std::string tok;
    while (tokens >> tok) {
      const char* begin = tok.c_str();
      char* end = NULL;
      errno = 0;
      const double v = std::strtod(begin, &end);
      if (end == begin || *end != '\0' || errno == ERANGE) {
        fail(at(source, line_no), "label '" + tok + "' is not a number");
      }
      s.labels.push_back(static_cast<Dtype>(v));
    }
    const int k = s.labels.size();
    if (k == 0) fail(at(source, line_no), "no label after the image path");
    if (label_dim_ == 0) {
      label_dim_ = k;
      first_line = line_no;
    } else if (k != label_dim_) {
      std::ostringstream msg;
      msg << "expected " << label_dim_ << " label values (as on line "
          << first_line << "), found " << k;
      fail(at(source, line_no), msg.str());
    }
    std::ifstream probe((root + s.path).c_str());
    if (!probe.good()) fail(at(source, line_no), "image not found: " + root + s.path);
    samples_.push_back(s);
  }
  if (samples_.empty()) fail(source, "the list has no image lines");
}

template <typename Dtype>
void ImageDataLayer<Dtype>::DataLayerSetUp(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  const ImageDataParameter& param = this->layer_param_.image_data_param();
  const int new_height = param.new_height();
  const int new_width  = param.new_width();
  const bool is_color  = param.is_color();
  const string& root_folder = param.root_folder();
  const string& source = param.source();
  if ((new_height == 0) != (new_width == 0)) {
    fail(this->layer_param_.name(), "set new_height and new_width together");
  }
  LOG(INFO) << "Opening file " << source;
  ReadList(source);
  if (label_dim_ > 1 && this->layer_param_.transform_param().mirror()) {
    fail(source, "mirror: true is refused with multi-value labels: a "
         "horizontal flip must also swap left/right points; flip in data "
         "generation instead");
  }
  skipped_ = 0;

  if (param.shuffle()) {
    LOG(INFO) << "Shuffling data";
    const unsigned int prefetch_rng_seed = caffe_rng_rand();
    prefetch_rng_.reset(new Caffe::RNG(prefetch_rng_seed));
    ShuffleImages();
  }
  LOG(INFO) << "A total of " << samples_.size() << " images, "
            << label_dim_ << " label value(s) each.";

  lines_id_ = 0;
  if (param.rand_skip()) {
    unsigned int skip = caffe_rng_rand() % param.rand_skip();
    LOG(INFO) << "Skipping first " << skip << " data points.";
    if (skip >= samples_.size()) fail(source, "rand_skip exceeds the list length");
    lines_id_ = skip;
  }
  // Read an image, and use it to initialize the top blob.
  const Sample& first = samples_[lines_id_];
  cv::Mat cv_img = ReadImageToCVMat(root_folder + first.path,
                                    new_height, new_width, is_color);
  if (!cv_img.data) {
    fail(at(source, first.line), "cannot decode image " + root_folder + first.path);
  }
  vector<int> top_shape = this->data_transformer_->InferBlobShape(cv_img);
  this->transformed_data_.Reshape(top_shape);
  const int batch_size = param.batch_size();
  if (batch_size <= 0) fail(this->layer_param_.name(), "batch_size must be positive");
  top_shape[0] = batch_size;
  for (int i = 0; i < this->PREFETCH_COUNT; ++i) {
    this->prefetch_[i].data_.Reshape(top_shape);
  }
  top[0]->Reshape(top_shape);
  LOG(INFO) << "output data size: " << top[0]->num() << ","
      << top[0]->channels() << "," << top[0]->height() << ","
      << top[0]->width();

  vector<int> label_shape(1, batch_size);
  if (label_dim_ > 1) label_shape.push_back(label_dim_);
  top[1]->Reshape(label_shape);
  for (int i = 0; i < this->PREFETCH_COUNT; ++i) {
    this->prefetch_[i].label_.Reshape(label_shape);
  }
}

template <typename Dtype>
void ImageDataLayer<Dtype>::ShuffleImages() {
  caffe::rng_t* prefetch_rng =
      static_cast<caffe::rng_t*>(prefetch_rng_->generator());
  shuffle(samples_.begin(), samples_.end(), prefetch_rng);
}

template <typename Dtype>
void ImageDataLayer<Dtype>::Advance() {
  lines_id_++;
  if (lines_id_ >= static_cast<int>(samples_.size())) {
    DLOG(INFO) << "Restarting data prefetching from start.";
    lines_id_ = 0;
    if (this->layer_param_.image_data_param().shuffle()) ShuffleImages();
  }
}

// Runs on the prefetch thread: nothing here may throw.
template <typename Dtype>
void ImageDataLayer<Dtype>::load_batch(Batch<Dtype>* batch) {
  CHECK(batch->data_.count());
  CHECK(this->transformed_data_.count());
  const ImageDataParameter& param = this->layer_param_.image_data_param();
  const int batch_size = param.batch_size();
  const int new_height = param.new_height();
  const int new_width = param.new_width();
  const bool is_color = param.is_color();
  const string& root_folder = param.root_folder();

  Dtype* prefetch_label = batch->label_.mutable_cpu_data();
  const int n_samples = samples_.size();
  bool shaped = false;
  for (int item_id = 0; item_id < batch_size; ++item_id) {
    cv::Mat cv_img;
    int failures_in_a_row = 0;
    while (true) {
      const Sample& s = samples_[lines_id_];
      cv_img = ReadImageToCVMat(root_folder + s.path, new_height, new_width, is_color);
      if (cv_img.data) break;
      ++skipped_;
      LOG(WARNING) << "ImageData: " << param.source() << ":" << s.line
                   << ": cannot decode " << root_folder << s.path
                   << ", skipped (" << skipped_ << " so far)";
      CHECK_LT(++failures_in_a_row, n_samples)
          << "ImageData: no image of " << param.source() << " can be decoded";
      Advance();
    }
    if (!shaped) {
      // Reshape according to the first image of each batch, as stock.
      vector<int> top_shape = this->data_transformer_->InferBlobShape(cv_img);
      this->transformed_data_.Reshape(top_shape);
      top_shape[0] = batch_size;
      batch->data_.Reshape(top_shape);
      shaped = true;
    }
    Dtype* prefetch_data = batch->data_.mutable_cpu_data();
    this->transformed_data_.set_cpu_data(prefetch_data + batch->data_.offset(item_id));
    this->data_transformer_->Transform(cv_img, &(this->transformed_data_));
    const Sample& s = samples_[lines_id_];
    for (int k = 0; k < label_dim_; ++k) {
      prefetch_label[item_id * label_dim_ + k] = s.labels[k];
    }
    Advance();
  }
}

INSTANTIATE_CLASS(ImageDataLayer);
REGISTER_LAYER_CLASS(ImageData);

}  // namespace caffe
#endif  // USE_OPENCV
