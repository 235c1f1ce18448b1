"""hwr's model core: preprocessing, networks, data, training, fine-tuning, checkpoints, samples.

Plain Python and torch; nothing here imports Qt, so every part runs in a script, a test or a worker
thread.
"""
