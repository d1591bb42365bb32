"""Statistics every app shares: the Wilson score interval of a proportion."""

import math

Z_95 = 1.959964  # two-sided 95%


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of successes / trials (None without trials): where the true rate
    plausibly lies, honest even with few trials or a rate of 0 or 1."""
    if trials == 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = p + z * z / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator)


def wilson_lower_bound(successes: int, trials: int, z: float = Z_95) -> float | None:
    """The lower end of the Wilson score interval: how low the true rate may plausibly be."""
    interval = wilson_interval(successes, trials, z)
    return interval[0] if interval else None
