"""The one place scripts turn our input errors into a one-line message and exit code 2."""
import sys

from .caffe_loader import CaffeNotBuilt
from .collection.listing import CollectionError
from .images import ImageReadError
from .prototxt import PrototxtError
from .records import LabelFormatError
from .wider import WiderFormatError

USER_ERRORS = (PrototxtError, LabelFormatError, WiderFormatError, ImageReadError, FileNotFoundError, CaffeNotBuilt,
               CollectionError)


def run(main, *args, **kwargs):
    """Call main(); a bad input file becomes `error: <file:line: what>` on stderr."""
    try:
        return main(*args, **kwargs)
    except USER_ERRORS as e:
        msg = " ".join(str(e).split()) if not isinstance(e, CaffeNotBuilt) else str(e)
        print(f"error: {msg}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
