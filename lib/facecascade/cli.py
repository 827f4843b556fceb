"""The one place scripts turn our input errors into a one-line message and exit code 2.

Imports nothing heavy at module level: a command may set thread variables
(OPENBLAS_NUM_THREADS, ...) when its own module loads, which must happen before numpy."""
import sys


def user_errors():
    from .caffe_loader import CaffeNotBuilt
    from .collection.listing import CollectionError
    from .images import ImageReadError
    from .prototxt import PrototxtError
    from .records import LabelFormatError
    from .skips import InputError
    from .wider import WiderFormatError

    return (InputError, PrototxtError, LabelFormatError, WiderFormatError, ImageReadError, FileNotFoundError,
            CaffeNotBuilt, CollectionError)


def run(main, *args, **kwargs):
    """Call main(); a bad input file becomes `error: <file:line: what>` on stderr."""
    try:
        return main(*args, **kwargs)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:
        if not isinstance(e, user_errors()):
            raise
        from .caffe_loader import CaffeNotBuilt

        msg = " ".join(str(e).split()) if not isinstance(e, CaffeNotBuilt) else str(e)
        print(f"error: {msg}", file=sys.stderr)
        sys.exit(2)
