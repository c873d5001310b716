"""Ground-truth simulation and evaluation of the scoring, trend and matching methods (`make evaluate`)."""
