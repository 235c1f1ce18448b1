"""Every size limit on what hwr reads from files, in one place.

Each limit is far above anything the app writes itself or a person draws, and far below what would
take the machine down: a file beyond one is refused with a message naming the file and the limit,
before the memory it would take is allocated. The README's "Nothing is lost" section lists them.
"""

from __future__ import annotations

# -- drawings (stroke files, samples, imported samples) -----------------------------------------
MAX_POINTS_PER_DRAWING = 10_000  # a digit drawn slowly with a 200 Hz pen has a few hundred
MAX_NUMBER_DIGITS = 64  # digits of one written number kept with its samples
MAX_STROKES_PER_DRAWING = 500
# Strokes, or pieces of a picture's ink, read as one number: every drawing within the limits can be
# (500 strokes take a few seconds); a picture with more marks is refused before they are cut up.
MAX_NUMBER_PIECES = MAX_STROKES_PER_DRAWING
MAX_COORDINATE = 1e6  # |x|, |y|: screen pixels; a 400-digit integer is not a position
MIN_DRAWING_EXTENT = 1e-6  # a drawing is a dot (extent 0) or at least this wide: 5e-324 is neither
MAX_PRESSURE = 1e3  # tablets report 0..1; a little slack for other scales
MAX_TIME = 1e7  # seconds since the stroke began (about four months)
MAX_JSON_DEPTH = 32  # nesting of any JSON file hwr reads; its formats need 6

EARLIEST_YEAR, LATEST_YEAR = 1971, 9998  # dates (samples, model versions) outside are not dates

# -- files --------------------------------------------------------------------------------------
MAX_STROKE_FILE_BYTES = 4 * 1024 * 1024  # one drawing as JSON: 10,000 points take under 1 MB
MAX_EXPORT_FILE_BYTES = 64 * 1024 * 1024  # a samples export: about 20,000 typical drawings
MAX_SAMPLES_PER_EXPORT = 100_000
# JSON lists in a samples export (each point is one, each stroke and drawing one more), counted before the file
# is parsed: 64 MB of one-digit points would take 2.9 GB once parsed; 3 million take about 0.8 GB. hwr's own
# exports are split to stay within it (a typical drawing of 100-200 points: 15,000-30,000 drawings a file).
MAX_EXPORT_LISTS = 3_000_000
MAX_PICTURE_FILE_BYTES = 32 * 1024 * 1024
MAX_PICTURE_PIXELS = 4096 * 4096  # width × height, read from the header before decoding
# Horizontal runs of ink in a picture read as a number, once reduced to 64 pixels high: 200 digits
# take about 50,000; a picture of stripes or dots takes millions and is refused before labelling.
MAX_PICTURE_INK_RUNS = 500_000
MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024  # the shipped model is 0.7 MB; the seed net 2.8 MB
MAX_ACTIVE_MARKER_BYTES = 256  # models/active holds one version id
MAX_MNIST_FILE_BYTES = 64 * 1024 * 1024  # MNIST's largest file (the training pictures) is 47,040,016 bytes

# -- networks (checked from the checkpoint's config, before any weights are allocated) ----------
MAX_CHANNELS = 512  # per layer of the compact network (the shipped one has at most 96)
MAX_HIDDEN_UNITS = 4096  # the seed network's fully connected layer (128 in the article)
MAX_NETWORK_PARAMETERS = 10_000_000  # the shipped network has 160,874; the seed net 693,962

# -- checkpoint metadata (``info``) -------------------------------------------------------------
MAX_INFO_TEXT = 10_000  # characters of any one text field
MAX_INFO_ITEMS = 10_000  # values in all of info's nested notes together
MAX_INFO_BYTES = 4 * 1024 * 1024  # an inference file's description (a model's info as JSON); hwr writes a few KB
MAX_COUNT = 100_000_000  # digits or samples a figure may be measured on

# -- the models folder ---------------------------------------------------------------------------
KEEP_VERSIONS = 20  # accepted versions kept; older ones are deleted (listing 1,516 took 12 s at start)
KEEP_ACTIVE_LINE = 5  # the active version's parents kept beyond KEEP_VERSIONS, for rolling back
KEEP_REJECTED = 5  # fine-tunes the gate rejected, kept to be looked at

# -- the sample store -----------------------------------------------------------------------------
# The store holds any number of samples; hwr is built and measured for 100,000 (benchmarks/worst_inputs.py):
# the Samples dialog reads a page, a fine-tune the newest FINETUNE_SAMPLES_PER_DIGIT of each digit,
# and an export is split into files an import accepts.
FINETUNE_SAMPLES_PER_DIGIT = 1_000
SUPPORTED_SAMPLES = 100_000
LOCK_WAIT_SECONDS = 5.0  # the longest the window waits for another process that holds the store's lock

# -- housekeeping -------------------------------------------------------------------------------
STALE_TEMPORARY_SECONDS = 600  # a .tmp file older than this is left over from a crash, not a save in progress
