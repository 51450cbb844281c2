"""scikit-learn estimators for EEG / SPD input (see docs/eeg.md).

* :class:`SPDNetClassifier` — covariance matrices ``(n_trials, d, d)`` → SPDNet.
* :class:`GrassmannClassifier` — covariance matrices → GrNet on their principal subspaces.
* :class:`ConvSPDNetClassifier` — raw trials ``(n_trials, n_channels, n_times)`` → learned
  filters → covariance → SPDNet.

All follow the scikit-learn / pyRiemann discipline: ``__init__`` stores hyper-parameters only,
``fit`` returns ``self``, fitted attributes end in ``_``, and they work in ``Pipeline``,
``GridSearchCV`` and ``cross_val_score``.  Training (:class:`TorchSPDTrainer`):

1. Re-centring (covariance estimators): ``X ↦ G^{-1/2} X G^{-1/2}`` with ``G`` the
   affine-invariant mean of the training covariances — of each domain's with
   ``fit(X, y, groups=...)`` — (Zanini et al., "Transfer learning: a Riemannian geometry
   framework with applications to brain-computer interfaces", IEEE TBME 2018, §III-A), so the
   inputs sit around the identity whatever the amplifier units; then a floor on the
   eigenvalues at ``1e-6 ·`` their mean.
2. ``geoopt.optim.RiemannianAdam`` (Stiefel / SPD parameters stay on their manifolds),
   cross-entropy, mini-batches (one domain per batch with ``groups``), ``max_epochs``.
3. Early stopping on a stratified internal validation split (``validation_fraction``), keeping
   the weights with the lowest validation loss; skipped when the training set is too small to
   hold one validation trial per class.
4. Divergence: a non-finite loss or parameter ends training with a ``RuntimeWarning`` ("diverged
   at epoch k; ... lower lr") and the last good weights restored; ``verbose=1`` prints one line
   per epoch (train loss, validation loss and accuracy) to stdout.
5. Optionally (``checkpoint_ensemble = k > 1``) a checkpoint ensemble: ``predict`` averages the
   class probabilities of the ``k`` epochs of lowest validation loss (the last ``k`` epochs
   without a validation set) — Chen, Lundberg & Lee, "Checkpoint ensembles: ensemble methods
   from a single training process", 2017.
6. A new session: :meth:`TorchSPDTrainer.adapt` re-centres at its mean and re-estimates the
   SPD batch-norm statistics from its unlabelled trials.
"""

from geomlayers.integrations.sklearn._trainer import TorchSPDTrainer
from geomlayers.integrations.sklearn.convspdnet import ConvSPDNetClassifier
from geomlayers.integrations.sklearn.grassmann import GrassmannClassifier
from geomlayers.integrations.sklearn.spdnet import SPDNetClassifier

__all__ = ["ConvSPDNetClassifier", "GrassmannClassifier", "SPDNetClassifier", "TorchSPDTrainer"]
