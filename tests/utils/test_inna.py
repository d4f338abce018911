"""INNA (Castera et al., JMLR 2021) and the optimiser factory."""

import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skdeep.utils import INNA  # noqa: E402
from skdeep.utils._optimizers import (  # noqa: E402
    DEFAULT_LEARNING_RATES,
    OPTIMIZERS,
    epoch_decay,
    make_optimizer,
)

# --- NumPy references ---------------------------------------------------------


def paper_scheme(grad, theta0, n_steps, lr, alpha, beta, decay_power=0.0,
                 beta_gradient=True, psi_coupling=True):
    """The paper's explicit Euler scheme in its variables (theta, psi).

    theta' = -beta grad J - (alpha - 1/beta) theta - psi / beta
    psi'   =              - (alpha - 1/beta) theta - psi / beta,
    psi_0 = (1 - alpha beta) theta_0, steps lr / (k + 1) ** decay_power.
    ``beta_gradient=False`` drops the beta grad J term of the theta update and
    ``psi_coupling=False`` the psi / beta term: the two mutations a test must
    catch.
    """
    theta = np.array(theta0, dtype=float)
    psi = (1.0 - alpha * beta) * theta
    path = [theta.copy()]
    for k in range(n_steps):
        gamma = lr / (k + 1) ** decay_power
        phase = (alpha - 1.0 / beta) * theta + psi / beta
        coupled = phase if psi_coupling else (alpha - 1.0 / beta) * theta
        drift = coupled + (beta * grad(theta) if beta_gradient else 0.0)
        theta, psi = theta - gamma * drift, psi - gamma * phase
        path.append(theta.copy())
    return np.array(path)


def run_inna(grad, theta0, n_steps, **hyper):
    """The iterates of skdeep's INNA on ``grad`` (float64 tensors)."""
    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    optimizer = INNA([theta], **hyper)
    path = [theta.detach().numpy().copy()]
    for _ in range(n_steps):
        theta.grad = torch.as_tensor(grad(theta.detach().numpy()))
        optimizer.step()
        path.append(theta.detach().numpy().copy())
    return np.array(path)


def quadratic(n_features=5, seed=0, low=0.5, high=4.0):
    """A, b of J(theta) = theta' A theta / 2 - b' theta, A's spectrum in [low, high]."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    eigenvalues = np.linspace(low, high, n_features)
    A = (Q * eigenvalues) @ Q.T
    return A, rng.standard_normal(n_features), Q, eigenvalues


A, B, Q, EIGENVALUES = quadratic()
THETA0 = np.random.default_rng(1).standard_normal(5)


def quadratic_grad(theta):
    return A @ theta - B


# --- the update -----------------------------------------------------------------


@pytest.mark.parametrize(
    "hyper",
    [
        dict(lr=0.1, alpha=0.5, beta=0.1),  # the authors' defaults
        dict(lr=0.05, alpha=1.3, beta=0.5),
        dict(lr=0.2, alpha=0.1, beta=0.3, decay_power=0.5),
    ],
)
def test_iterates_follow_the_papers_scheme_on_a_quadratic(hyper):
    ours = run_inna(quadratic_grad, THETA0, 60, **hyper)
    reference = paper_scheme(quadratic_grad, THETA0, 60, **hyper)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-10)
    assert np.abs(ours[-1] - ours[0]).max() > 0.1  # the iterates did move


@pytest.mark.parametrize("mutation", ["beta_gradient", "psi_coupling"])
def test_dropping_the_beta_gradient_or_the_psi_coupling_is_caught(mutation):
    # The implementation equals the full scheme to 1e-10 (above); each mutated
    # scheme is far from it on the same problem, so an implementation missing
    # that term would fail the test above.
    hyper = dict(lr=0.05, alpha=0.5, beta=0.5)
    full = paper_scheme(quadratic_grad, THETA0, 40, **hyper)
    np.testing.assert_allclose(run_inna(quadratic_grad, THETA0, 40, **hyper), full,
                               rtol=0, atol=1e-10)
    mutated = paper_scheme(quadratic_grad, THETA0, 40, **hyper, **{mutation: False})
    assert np.abs(mutated - full).max() > 1e-2


@pytest.mark.parametrize("beta", [0.0, 0.2])
def test_closed_form_of_the_two_step_recursion(beta):
    # Eliminating the auxiliary variable, a constant step gamma gives
    #   theta_{k+1} = theta_k + (1 - alpha gamma)(theta_k - theta_{k-1})
    #                 - gamma^2 g_{k-1} - gamma beta (g_k - g_{k-1}),
    # with theta_1 = theta_0 - gamma beta g_0: for beta = 0 the heavy ball
    # (with the gradient one step behind), for beta > 0 plus the Hessian
    # damping gamma beta (g_k - g_{k-1}). On the quadratic each eigen-direction
    # of A (eigenvalue lam) follows e_{k+1} = s e_k - p e_{k-1}, solved by the
    # roots of r^2 - s r + p.
    gamma, alpha = 0.3, 0.7
    ours = run_inna(quadratic_grad, THETA0, 50, lr=gamma, alpha=alpha, beta=beta)
    theta_star = np.linalg.solve(A, B)
    lam = EIGENVALUES
    e0 = Q.T @ (THETA0 - theta_star)
    e1 = (1 - gamma * beta * lam) * e0
    s = 2 - alpha * gamma - gamma * beta * lam
    p = 1 - alpha * gamma - gamma * beta * lam + gamma**2 * lam
    root = np.sqrt((s**2 - 4 * p).astype(complex))
    r_plus, r_minus = (s + root) / 2, (s - root) / 2
    c_plus = (e1 - r_minus * e0) / (r_plus - r_minus)
    c_minus = (r_plus * e0 - e1) / (r_plus - r_minus)
    k = np.arange(51)[:, None]
    errors = (c_plus * r_plus**k + c_minus * r_minus**k).real
    closed_form = theta_star + errors @ Q.T
    np.testing.assert_allclose(ours, closed_form, rtol=0, atol=1e-10)
    assert np.abs(ours[-1] - ours[0]).max() > 0.1


def test_step_equal_to_beta_is_sgd_with_momentum():
    # With gamma = beta the damping term vanishes: INNA is then torch's SGD with
    # momentum 1 - alpha beta and step beta^2, here on a small network.
    alpha, beta = 0.5, 0.1
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, 1)).double()
    twin = copy.deepcopy(net)
    X = torch.randn(20, 3, dtype=torch.float64)
    y = torch.randn(20, 1, dtype=torch.float64)
    inna = INNA(net.parameters(), lr=beta, alpha=alpha, beta=beta)
    sgd = torch.optim.SGD(twin.parameters(), lr=beta**2, momentum=1 - alpha * beta)
    for _ in range(30):
        for model, optimizer in ((net, inna), (twin, sgd)):
            optimizer.zero_grad()
            ((model(X) - y) ** 2).mean().backward()
            optimizer.step()
    for a, b in zip(net.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_converges_to_the_least_squares_solution():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(50)
    solution = np.linalg.lstsq(X, y, rcond=None)[0]
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    optimizer = INNA([theta], lr=0.05, alpha=0.5, beta=0.1)
    for _ in range(1500):
        optimizer.zero_grad()
        (0.5 * ((Xt @ theta - yt) ** 2).mean()).backward()
        optimizer.step()
    np.testing.assert_allclose(theta.detach().numpy(), solution, atol=1e-6)


def test_converges_to_the_l2_logistic_regression_minimiser():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X[:, :6])
    lam = 0.1  # J = mean log-loss + lam / 2 |coef|^2
    reference = LogisticRegression(C=1 / (lam * len(y)), tol=1e-12, max_iter=10_000)
    reference.fit(X, y)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.float64)
    coef = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    intercept = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = INNA([coef, intercept], lr=0.1, alpha=0.5, beta=0.5)
    loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
    for _ in range(800):
        optimizer.zero_grad()
        loss = loss_fn(Xt @ coef + intercept, yt) + lam / 2 * (coef**2).sum()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose(coef.detach().numpy(), reference.coef_[0], atol=1e-6)
    np.testing.assert_allclose(intercept.detach().numpy(), reference.intercept_,
                               atol=1e-6)


def test_weight_decay_is_an_l2_penalty_in_the_gradient():
    decay = 0.3
    ours = run_inna(quadratic_grad, THETA0, 30, lr=0.1, alpha=0.5, beta=0.2,
                    weight_decay=decay)
    penalised = run_inna(lambda t: quadratic_grad(t) + decay * t, THETA0, 30,
                         lr=0.1, alpha=0.5, beta=0.2)
    np.testing.assert_allclose(ours, penalised, rtol=0, atol=1e-12)
    assert np.abs(ours - run_inna(quadratic_grad, THETA0, 30, lr=0.1, alpha=0.5,
                                  beta=0.2)).max() > 1e-2


# --- the torch optimiser API ----------------------------------------------------


def _loss(theta):
    return 0.5 * theta @ torch.as_tensor(A) @ theta - torch.as_tensor(B) @ theta


def test_param_groups_take_their_own_hyper_parameters():
    first = torch.tensor(THETA0, requires_grad=True)
    second = torch.tensor(THETA0, requires_grad=True)
    optimizer = INNA([{"params": [first]},
                      {"params": [second], "lr": 0.02, "beta": 0.4}],
                     lr=0.1, alpha=0.5, beta=0.1)
    for _ in range(20):
        optimizer.zero_grad()
        (_loss(first) + _loss(second)).backward()
        optimizer.step()
    for theta, hyper in ((first, dict(lr=0.1, beta=0.1)),
                         (second, dict(lr=0.02, beta=0.4))):
        reference = paper_scheme(quadratic_grad, THETA0, 20, alpha=0.5, **hyper)
        np.testing.assert_allclose(theta.detach().numpy(), reference[-1], atol=1e-10)


def test_closure_is_called_and_its_loss_returned():
    theta = torch.tensor(THETA0, requires_grad=True)
    optimizer = INNA([theta], lr=0.05, alpha=0.5, beta=0.5)
    losses = []

    def closure():
        optimizer.zero_grad()
        loss = _loss(theta)
        loss.backward()
        return loss

    for _ in range(10):
        losses.append(optimizer.step(closure).item())
    reference = paper_scheme(quadratic_grad, THETA0, 10, lr=0.05, alpha=0.5,
                             beta=0.5)
    expected = [0.5 * t @ A @ t - B @ t for t in reference[:-1]]
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    np.testing.assert_allclose(theta.detach().numpy(), reference[-1], atol=1e-10)


def test_state_dict_round_trip_continues_the_same_trajectory():
    hyper = dict(lr=0.05, alpha=0.5, beta=0.5, decay_power=0.5)
    theta = torch.tensor(THETA0, requires_grad=True)
    optimizer = INNA([theta], **hyper)

    def advance(optimizer, theta, n_steps):
        for _ in range(n_steps):
            optimizer.zero_grad()
            _loss(theta).backward()
            optimizer.step()

    advance(optimizer, theta, 7)
    saved = pickle.loads(pickle.dumps(optimizer.state_dict()))
    restored_theta = theta.detach().clone().requires_grad_(True)
    restored = INNA([restored_theta], lr=1.0)  # the state dict sets the groups
    restored.load_state_dict(saved)
    assert restored.state[restored_theta]["step"] == 7
    advance(optimizer, theta, 8)
    advance(restored, restored_theta, 8)
    reference = paper_scheme(quadratic_grad, THETA0, 15, **hyper)
    np.testing.assert_allclose(restored_theta.detach().numpy(), reference[-1],
                               atol=1e-10)
    torch.testing.assert_close(restored_theta, theta, rtol=0, atol=0)


def test_parameters_without_gradient_are_left_alone():
    used = torch.tensor([1.0, 2.0], requires_grad=True)
    unused = torch.tensor([3.0], requires_grad=True)
    optimizer = INNA([used, unused])
    (used**2).sum().backward()
    optimizer.step()
    assert unused.item() == 3.0 and unused not in optimizer.state
    assert not torch.equal(used.detach(), torch.tensor([1.0, 2.0]))


@pytest.mark.parametrize(
    "name, value",
    [("lr", -0.1), ("alpha", -0.5), ("beta", -1e-3), ("decay_power", -1.0),
     ("weight_decay", -1.0), ("alpha", float("nan")), ("beta", float("inf"))],
)
def test_bad_hyper_parameters_raise_naming_them(name, value):
    theta = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=f"INNA's {name} must be"):
        INNA([theta], **{name: value})
    with pytest.raises(ValueError, match=f"INNA's {name} must be"):
        INNA([{"params": [theta], name: value}])


def test_non_numeric_hyper_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="INNA's alpha must be a real number"):
        INNA([torch.zeros(1, requires_grad=True)], alpha="0.5")


def test_public_lazy_export():
    import skdeep.utils
    from skdeep.utils._inna import INNA as private

    assert skdeep.utils.INNA is private and "INNA" in dir(skdeep.utils)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        skdeep.utils.nope  # noqa: B018


def test_importing_the_factory_does_not_import_torch():
    code = ("import sys, skdeep.utils, skdeep.utils._optimizers; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


# --- make_optimizer -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cls", [("adam", "Adam"), ("sgd", "SGD"), ("inna", "INNA")]
)
def test_make_optimizer_builds_each_name(name, cls):
    assert OPTIMIZERS == ("adam", "sgd", "inna")
    layer = torch.nn.Linear(2, 1)
    optimizer = make_optimizer(name, layer.parameters(), 0.03)
    assert type(optimizer).__name__ == cls
    assert optimizer.param_groups[0]["lr"] == 0.03
    default = make_optimizer(name, layer.parameters())
    assert default.param_groups[0]["lr"] == DEFAULT_LEARNING_RATES[name]


def test_make_optimizer_defaults_and_options():
    params = [torch.zeros(2, requires_grad=True)]
    sgd = make_optimizer("sgd", params, 0.1)
    assert sgd.param_groups[0]["momentum"] == 0.9
    assert sgd.param_groups[0]["nesterov"] is False
    assert make_optimizer("sgd", params, 0.1, {"momentum": 0.5}).param_groups[0][
        "momentum"] == 0.5
    inna = make_optimizer("inna", params, 0.1)
    assert (inna.param_groups[0]["alpha"], inna.param_groups[0]["beta"]) == (0.5, 0.1)
    inna = make_optimizer("inna", params, 0.1, {"alpha": 1.3, "decay_power": 0.5})
    assert (inna.param_groups[0]["alpha"], inna.param_groups[0]["decay_power"]) == (
        1.3, 0.5)
    adam = make_optimizer("adam", params, 0.1, {"betas": (0.5, 0.9)})
    assert adam.param_groups[0]["betas"] == (0.5, 0.9)


def test_make_optimizer_accepts_param_groups():
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = make_optimizer("inna", [{"params": [a]}, {"params": [b], "lr": 0.01}],
                               0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.01]


def test_make_optimizer_rejects_bad_names_and_options():
    params = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match=r"optimizer must be one of \['adam', 'sgd'"):
        make_optimizer("rmsprop", params, 0.1)
    with pytest.raises(ValueError, match="does not take the option.*'momentum'"):
        make_optimizer("inna", params, 0.1, {"momentum": 0.9})
    with pytest.raises(ValueError, match="'alpha'.*its options are"):
        make_optimizer("sgd", params, 0.1, {"alpha": 0.5})
    with pytest.raises(ValueError, match="give the step size as learning_rate"):
        make_optimizer("adam", params, 0.1, {"lr": 0.1})
    with pytest.raises(TypeError, match="options must be a dict"):
        make_optimizer("adam", params, 0.1, [("eps", 1e-8)])
    with pytest.raises(ValueError, match="INNA's beta must be"):
        make_optimizer("inna", params, 0.1, {"beta": -1.0})


def test_epoch_decay_divides_the_step_by_the_root_of_the_epoch():
    optimizer = make_optimizer("inna", [torch.zeros(1, requires_grad=True)], 0.1)
    factory = pickle.loads(pickle.dumps(epoch_decay(0.5)))
    scheduler = factory(optimizer)
    rates = []
    for _ in range(4):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(rates, 0.1 / np.sqrt([1, 2, 3, 4]))
    with pytest.raises(ValueError, match="power must be"):
        epoch_decay(-0.5)
