import pytest

from skdeep.utils._torch import resolve_device, to_numpy, torch_generator

torch = pytest.importorskip("torch")


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(torch.device("cpu")).type == "cpu"
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu-ish")
    with pytest.raises(TypeError, match="device"):
        resolve_device(3)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the error raised without CUDA"
)
def test_resolve_device_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_resolve_device_cuda():
    assert resolve_device("cuda").type == "cuda"


def test_torch_generator_is_seeded_by_random_state():
    first = torch.rand(5, generator=torch_generator(0))
    second = torch.rand(5, generator=torch_generator(0))
    other = torch.rand(5, generator=torch_generator(1))
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
    assert to_numpy(first).shape == (5,)
