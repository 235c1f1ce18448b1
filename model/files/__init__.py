"""Untrusted input made safe: the size limit of every input, validation into typed values, files on disk.

Owns :mod:`~model.files.limits` (every limit in one place), :mod:`~model.files.validate` (stroke files,
pictures, sample exports, the active-model marker → typed values, or one error naming the file and the
cause; the .npy array headers that inference and reference files are checked by before their data is read) and :mod:`~model.files.disk` (atomic writes, moving a bad file aside, sweeping up after a crash).

May import: the standard library, numpy, Pillow, and :mod:`model.constants`. No torch: the app reads
files before torch has loaded.
"""
