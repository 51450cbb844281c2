"""Loaders for the real data in ``../shared/data`` and the small copies bundled with the package.

EEG: :mod:`geomlayers.data.eeg` (MAMEM SSVEP II, PhysioNet EEGMMIDB, covariance estimation,
the bundled EEGMMIDB S001 imagery covariances).
"""
