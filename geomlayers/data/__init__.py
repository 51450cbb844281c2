"""Loaders for real data, bundled copies, and synthetic / surrogate tasks.

* :mod:`geomlayers.data.eeg`: MAMEM SSVEP II and PhysioNet EEGMMIDB from ``../shared/data``,
  covariance estimation, the bundled EEGMMIDB S001 imagery covariances.
* :mod:`geomlayers.data.affine_digits`: MNIST and the affNIST-like surrogate test set.
"""
