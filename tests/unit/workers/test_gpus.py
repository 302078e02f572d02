import pytest
import torch
from click.testing import CliRunner

from hybrid_search.cli import main
from workers.gpus import gpu_workers, visible_gpus


def test_all_is_every_gpu_this_process_sees():
    assert visible_gpus("all", {}, 2) == ["0", "1"]
    assert visible_gpus("all", {"CUDA_VISIBLE_DEVICES": "2,3"}, 2) == ["2", "3"]
    assert visible_gpus("all", {}, 0) == []


def test_positions_are_mapped_through_cuda_visible_devices():
    assert visible_gpus("1", {"CUDA_VISIBLE_DEVICES": "4,6"}, 2) == ["6"]
    assert visible_gpus("0,1", {}, 4) == ["0", "1"]
    with pytest.raises(ValueError, match="'2' is not one of the 2 GPUs"):
        visible_gpus("0,2", {}, 2)
    with pytest.raises(ValueError, match="'x'"):
        visible_gpus("x", {}, 2)


def test_one_worker_per_gpu_each_pinned_to_it_and_only_the_first_runs_the_schedule():
    workers = gpu_workers(["2", "3"], beat=True, schedule="/data/beat", loglevel="info")
    assert [w.env for w in workers] == [
        {"CUDA_VISIBLE_DEVICES": "2", "HYBRID_SEARCH_DEVICE": "cuda"},
        {"CUDA_VISIBLE_DEVICES": "3", "HYBRID_SEARCH_DEVICE": "cuda"},
    ]
    assert all(w.argv[3:6] == ["worker", "--gpus", "0"] for w in workers)
    assert "--beat" in workers[0].argv and "--schedule=/data/beat" in workers[0].argv
    assert "--no-beat" in workers[1].argv and "--beat" not in workers[1].argv


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_a_gpu_worker_without_a_gpu_is_a_usage_error():
    result = CliRunner().invoke(main, ["worker", "--gpus", "all"])
    assert result.exit_code == 2 and "--gpus" in result.output and "no CUDA device is visible here" in result.output
    result = CliRunner().invoke(main, ["worker", "--gpus", "3"])
    assert result.exit_code == 2 and "'3' is not one of the 0 GPUs" in result.output
