#!/usr/bin/env python3
"""Step 4: detect faces with our MTCNN on an image, a folder or a list file.

Writes <out>/detections.json ({image: [{box, score, landmarks}, ...]}) and one
drawn image per input (<out>/drawn/<name>.jpg: boxes with scores, 5 points).
Any image OpenCV reads works: grayscale, RGBA and 16-bit are converted, EXIF
orientation is honoured (facecascade.images.read_image).  Unreadable images
are skipped and counted, with the reason printed; an image without a face is
named on stderr and counted (images_without_faces in the summary line).

  python mtcnn/4_detect/detect.py photo.jpg
  python mtcnn/4_detect/detect.py some/folder --out /tmp/faces
  python mtcnn/4_detect/detect.py list.txt          # one image path per line
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_detect import main

if __name__ == "__main__":
    run(main, doc=__doc__)
