#!/usr/bin/env python3
"""Targeted edits that make the brocolli-caffe 9.0.2 sdist build on Debian 12.

Each edit names the file, the exact text it expects and its replacement, and
fails loudly when the text is missing, so a different source tree is refused
instead of half-patched.  Run once on a freshly unpacked tree:

    python3 docker/patch_caffe.py CAFFE_SRC_DIR
"""
import argparse
import pathlib
import shutil
import sys

# Files the sdist ships by mistake: its own git repo (with a CI credential in
# .git/config), protoc-3.0 outputs that clash with Debian's protoc 3.21, and
# Python build leftovers.
STALE = [
    ".git", ".github", "include/caffe/proto", "src/caffe/proto/caffe.pb.cc",
    "python/caffe/proto/caffe_pb2.py", "python/caffe/__pycache__",
    "python/brocolli_caffe.egg-info", "Makefile.config", "setup.py", "setup.cfg",
]

# (file, old, new, count): `count` occurrences of `old` must exist.
EDITS = [
    # The fork pins its build dir to `.temp_release`, while _caffe.so looks
    # for the library in build/lib.
    ("Makefile", "BUILD_DIR = temp\n", "", 1),
    # Object files include the generated caffe.pb.h; without this
    # prerequisite `make -j` races protoc.
    ("Makefile", "$(BUILD_DIR)/%.o: %.cpp | $(ALL_BUILD_DIRS)",
     "$(BUILD_DIR)/%.o: %.cpp $(PROTO_GEN_HEADER) | $(ALL_BUILD_DIRS)", 1),
    # Installed layout is PREFIX/{lib,python/caffe}: let _caffe.so find
    # libcaffe there as well as in the build tree.
    ("Makefile", "\t\t-Wl,-rpath,$(ORIGIN)/../../build/lib\n",
     "\t\t-Wl,-rpath,$(ORIGIN)/../../build/lib -Wl,-rpath,$(ORIGIN)/../../lib\n", 1),
    # OpenCV 4 dropped the C-API constants.
    ("src/caffe/util/io.cpp", "CV_LOAD_IMAGE_COLOR :\n    CV_LOAD_IMAGE_GRAYSCALE",
     "cv::IMREAD_COLOR :\n    cv::IMREAD_GRAYSCALE", 2),
    ("src/caffe/test/test_io.cpp", "CV_LOAD_IMAGE_COLOR :\n    CV_LOAD_IMAGE_GRAYSCALE",
     "cv::IMREAD_COLOR :\n    cv::IMREAD_GRAYSCALE", 1),
    ("src/caffe/layers/window_data_layer.cpp", "CV_LOAD_IMAGE_COLOR", "cv::IMREAD_COLOR", 1),
    ("src/caffe/layers/video_data_layer.cpp", "CV_CAP_PROP_", "cv::CAP_PROP_", 2),
    ("src/caffe/util/bbox_util.cpp", "CV_FILLED", "cv::FILLED", 2),
    ("src/caffe/util/bbox_util.cpp", "CV_FOURCC(", "cv::VideoWriter::fourcc(", 1),
    ("src/caffe/util/im_transforms.cpp", "#if CV_VERSION_MAJOR == 3\n",
     "#if CV_VERSION_MAJOR >= 3\n#define CV_BGR2HSV cv::COLOR_BGR2HSV\n"
     "#define CV_HSV2BGR cv::COLOR_HSV2BGR\n#define CV_BGR2Lab cv::COLOR_BGR2Lab\n"
     "#define CV_Lab2BGR cv::COLOR_Lab2BGR\n", 1),
    # pycaffe on Python 3.11 / numpy 2 / scikit-image >= 0.19.
    ("python/caffe/io.py", "import skimage.io\n",
     "import skimage.io\nfrom skimage.transform import resize\n", 1),
    ("python/caffe/io.py", "arr.tostring()", "arr.tobytes()", 1),
    ("python/caffe/io.py", "np.fromstring(", "np.frombuffer(", 1),
    ("python/caffe/io.py", "as_grey=", "as_gray=", 1),
    # PEP 479: an empty blob dict made the generator raise StopIteration.
    ("python/caffe/pycaffe.py",
     "    num = len(six.next(six.itervalues(blobs)))\n",
     "    if not blobs:\n        return\n    num = len(six.next(six.itervalues(blobs)))\n", 1),
]


def apply(src: pathlib.Path) -> None:
    for rel in STALE:
        p = src / rel
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    for rel, old, new, count in EDITS:
        path = src / rel
        text = path.read_text()
        found = text.count(old)
        if found != count:
            sys.exit(f"patch_caffe: {rel}: expected {count} x {old!r}, found {found}; "
                     "is this the brocolli-caffe 9.0.2 sdist?")
        path.write_text(text.replace(old, new))
    print(f"patch_caffe: {len(EDITS)} edits applied, {len(STALE)} stale paths removed in {src}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=pathlib.Path, help="unpacked brocolli-caffe-9.0.2 directory")
    apply(ap.parse_args().src)
