"""Resource limits for one call of the executor."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Limits for running one solver on a list of inputs.

    The wall-clock limits are enforced by the parent process; the CPU and memory limits are
    resource limits (RLIMIT_CPU, RLIMIT_AS) of the worker process that runs the solver.
    """

    case_seconds: float = 2.0
    batch_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_mb: int = 512
    max_output_chars: int = 10_000

    def __post_init__(self) -> None:
        if not self.case_seconds > 0:
            raise ValueError(f"case_seconds must be positive, got {self.case_seconds!r}")
        if not self.batch_seconds > 0:
            raise ValueError(f"batch_seconds must be positive, got {self.batch_seconds!r}")
        if int(self.cpu_seconds) != self.cpu_seconds or self.cpu_seconds < 1:
            raise ValueError(f"cpu_seconds must be a whole number >= 1, got {self.cpu_seconds!r}")
        if int(self.memory_mb) != self.memory_mb or self.memory_mb < 64:
            raise ValueError(f"memory_mb must be a whole number >= 64, got {self.memory_mb!r}")
        if int(self.max_output_chars) != self.max_output_chars or self.max_output_chars < 0:
            raise ValueError(f"max_output_chars must be a whole number >= 0, got {self.max_output_chars!r}")

    @property
    def worker_key(self) -> tuple[int, int]:
        """The limits a worker process is started with; workers are only reused for equal keys."""
        return (int(self.cpu_seconds), int(self.memory_mb))


DEFAULT_LIMITS = Limits()
