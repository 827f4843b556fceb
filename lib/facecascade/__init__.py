"""facecascade: the shared code of the cascaded MobileNet-V2 landmark detector
and the MTCNN face detector, on Caffe.

Numbered scripts under 0_raw_data/, 1_level_1/, 2_level_2/, 3_demo/ and mtcnn/
are thin command-line entry points over these modules.  Conventions used
everywhere: pixel coordinates, x to the right, y down, 0-based; five points in
the order image-left eye, image-right eye, nose, image-left mouth corner,
image-right mouth corner, as a float array of shape (5, 2).
"""
__version__ = "1.0.0"
