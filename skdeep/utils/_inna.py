r"""INNA, the inertial Newton algorithm, as a :class:`torch.optim.Optimizer`.

Castera, Bolte, Févotte and Pauwels (JMLR 2021) discretise the dynamics

.. math::

    \ddot\theta + \alpha \dot\theta + \beta \nabla^2 J(\theta) \dot\theta
    + \nabla J(\theta) = 0

through a first-order system in :math:`(\theta, \psi)` that needs no Hessian,

.. math::

    \dot\theta = -\beta \nabla J(\theta) - (\alpha - 1/\beta)\theta
        - \psi / \beta, \qquad
    \dot\psi = -(\alpha - 1/\beta)\theta - \psi / \beta,

stepped by explicit Euler with decaying steps :math:`\gamma_k` from
:math:`\psi_0 = (1 - \alpha\beta)\theta_0`. This module keeps, instead of
:math:`\psi`, the variable :math:`w = (\theta - \psi) / \beta`; the same
Euler steps then read

.. math::

    \theta_{k+1} = \theta_k + \gamma_k (w_k - \alpha \theta_k - \beta g_k),
    \qquad w_{k+1} = w_k - \gamma_k g_k, \qquad w_0 = \alpha \theta_0,

with :math:`g_k` the (mini-batch) gradient at :math:`\theta_k`. The iterates are
those of the paper's scheme (up to rounding), no division by :math:`\beta`
amplifies rounding errors, and :math:`\beta = 0` is defined: the heavy-ball
dynamics without the Hessian damping.

This module imports torch at import time; ``skdeep.utils.INNA`` and
:func:`~skdeep.utils._optimizers.make_optimizer` import it only when asked.
"""


from ._optimizers import check_hyper_parameter
from ._torch import import_torch

# import_torch gives the install hint when torch is missing.
torch = import_torch()

__all__ = ["INNA"]

# The hyper-parameters of a group; each must be a finite real >= 0.
_HYPER_PARAMETERS = ("lr", "alpha", "beta", "decay_power", "weight_decay")


def _check_hyper_parameter(name, value):
    check_hyper_parameter(name, value, "INNA's ")


class INNA(torch.optim.Optimizer):
    r"""The inertial Newton algorithm (INNA) of Castera et al. (JMLR 2021).

    A first-order optimiser, with one auxiliary tensor per parameter (the
    memory of SGD with momentum), whose iterates follow the inertial dynamics
    with Hessian-driven damping :math:`\ddot\theta + \alpha\dot\theta +
    \beta\nabla^2 J(\theta)\dot\theta + \nabla J(\theta) = 0`, without
    computing any Hessian. One step, with :math:`g_k` the gradient at
    :math:`\theta_k`, is

    .. math::

        \gamma_k = \frac{\mathrm{lr}}{(k + 1)^{p}}, \qquad
        \theta_{k+1} = \theta_k + \gamma_k (w_k - \alpha\theta_k
            - \beta g_k), \qquad
        w_{k+1} = w_k - \gamma_k g_k,

    where :math:`p` is ``decay_power`` and :math:`w_0 = \alpha\theta_0` is set at
    the first step. In the paper's variable :math:`\psi = \theta - \beta w`
    this is the explicit Euler scheme of its first-order system, started from
    :math:`\psi_0 = (1 - \alpha\beta)\theta_0`, so that the first step is a
    gradient step of size :math:`\gamma_0\beta`. See :ref:`inna` for what
    ``alpha`` and ``beta`` do.

    Parameters
    ----------
    params : iterable of torch.Tensor or of dict
        The parameters, or parameter groups (dicts with a ``"params"`` key and
        any of the hyper-parameters below).
    lr : float, default=0.1
        Initial step size :math:`\gamma_0` (>= 0).
    alpha : float, default=0.5
        Viscous friction :math:`\alpha` (>= 0).
    beta : float, default=0.1
        Newtonian (Hessian-driven) damping :math:`\beta` (>= 0). The paper
        requires :math:`\beta > 0`; ``beta=0`` is the heavy-ball dynamics
        :math:`\ddot\theta + \alpha\dot\theta + \nabla J(\theta) = 0`.
    decay_power : float, default=0.0
        Power :math:`p` of the per-step decay :math:`\gamma_k = \mathrm{lr} /
        (k + 1)^p`, :math:`k` counting the steps of each parameter. The authors'
        training example decays the step by :math:`1/\sqrt{e + 1}` at every
        epoch :math:`e` instead; use ``decay_power=0`` with an epoch
        scheduler for that (see :func:`~skdeep.utils._optimizers.epoch_decay`),
        not both.
    weight_decay : float, default=0.0
        L2 penalty: ``weight_decay * theta`` is added to the gradient, as in
        :class:`torch.optim.SGD`. (The authors' code adds it to the
        :math:`\theta` update only.)

    Attributes
    ----------
    state : dict
        Per parameter, ``"w"`` (the auxiliary variable :math:`w_k`) and
        ``"step"`` (the number of steps taken, :math:`k`).

    Notes
    -----
    With a constant step :math:`\gamma`, eliminating :math:`w` gives
    :math:`\theta_{k+1} = \theta_k + (1 - \alpha\gamma)(\theta_k -
    \theta_{k-1}) - \gamma^2 g_k - \gamma(\beta - \gamma)(g_k - g_{k-1})`:
    the heavy ball plus a damping by the change of the gradient (the Hessian
    term). At ``lr == beta`` (the defaults, without decay) the damping
    vanishes and INNA is :class:`torch.optim.SGD` with ``momentum=1 -
    alpha * beta`` and ``lr=beta ** 2``; it acts once the step has decayed
    below ``beta``. A step above ``beta`` turns it into an anti-damping.

    References
    ----------
    C. Castera, J. Bolte, C. Févotte and E. Pauwels, "An inertial Newton
    algorithm for deep learning", Journal of Machine Learning Research 22(134),
    2021.

    Examples
    --------
    >>> import torch
    >>> from skdeep.utils import INNA
    >>> theta = torch.tensor([3.0, -2.0], requires_grad=True)
    >>> optimizer = INNA([theta], lr=0.1, alpha=0.5, beta=0.1)
    >>> for _ in range(300):
    ...     optimizer.zero_grad()
    ...     loss = ((theta - 1.0) ** 2).sum()
    ...     loss.backward()
    ...     _ = optimizer.step()
    >>> torch.allclose(theta.detach(), torch.ones(2), atol=1e-3)
    True
    """

    def __init__(self, params, lr=0.1, alpha=0.5, beta=0.1, decay_power=0.0,
                 weight_decay=0.0):
        defaults = dict(lr=lr, alpha=alpha, beta=beta, decay_power=decay_power,
                        weight_decay=weight_decay)
        for name, value in defaults.items():
            _check_hyper_parameter(name, value)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """Add a parameter group, checking its hyper-parameters."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for name in _HYPER_PARAMETERS:
            _check_hyper_parameter(name, group[name])

    @torch.no_grad()
    def step(self, closure=None):
        """One INNA step of every parameter that has a gradient.

        Parameters
        ----------
        closure : callable or None, default=None
            Re-evaluates the model: clears the gradients, computes the loss,
            calls ``backward`` and returns the loss.

        Returns
        -------
        loss : torch.Tensor or None
            What ``closure`` returned, ``None`` without a closure.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            alpha, beta = group["alpha"], group["beta"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if grad.is_sparse:
                    raise RuntimeError("INNA does not support sparse gradients.")
                if group["weight_decay"] != 0:
                    grad = grad.add(param, alpha=group["weight_decay"])
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["w"] = param.detach().mul(alpha)
                w = state["w"]
                gamma = group["lr"] / (state["step"] + 1) ** group["decay_power"]
                # theta <- theta + gamma (w - alpha theta - beta g), from the old w
                direction = w.sub(param, alpha=alpha).sub_(grad, alpha=beta)
                param.add_(direction, alpha=gamma)
                w.sub_(grad, alpha=gamma)
                state["step"] += 1
        return loss
