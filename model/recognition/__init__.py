"""Recognition: strokes or a picture → the 28×28 picture MNIST-style → the network → the answer.

Owns the preprocessing pipeline every part of hwr shares (:mod:`~model.recognition.preprocess`), the
networks (:mod:`~model.recognition.net_config`, torch-free; :mod:`~model.recognition.network` in torch;
:mod:`~model.recognition.inference`, the same forward pass in numpy, so reading needs no torch), the answer for one digit (:mod:`~model.recognition.answer`),
a ready model (:class:`~model.recognition.predict.Predictor`) and the reading of several digits at once,
drawn (:mod:`~model.recognition.numbers`) or in a picture (:mod:`~model.recognition.picture_numbers`).

May import: :mod:`model.files` (to read stroke files and pictures), :mod:`model.constants`, torch,
numpy, Pillow. Not storage: a Predictor takes anything that can build a network (a checkpoint is one).
"""
