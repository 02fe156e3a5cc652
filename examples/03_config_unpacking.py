"""Dataclass and Pydantic arguments become one column per field.

Run: python examples/03_config_unpacking.py
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from pydantic import BaseModel

from xetrack import Reader, Tracker


@dataclasses.dataclass(frozen=True)
class Optimizer:
    name: str
    lr: float


class Experiment(BaseModel):
    seed: int
    optimizer: Optimizer  # a dataclass inside a Pydantic model is unpacked too
    note: str | None = None


def train(cfg: Experiment, epochs: int = 3) -> dict[str, float]:
    return {"accuracy": 0.8 + cfg.optimizer.lr * epochs}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "configs.db"
        tracker = Tracker(db)
        for lr in (0.01, 0.02):
            tracker.track(
                train, args=[Experiment(seed=1, optimizer=Optimizer("adam", lr))]
            )
        frame = Reader(db).to_df()
        print(
            "notice: cfg_optimizer_lr is its own column, so you can filter and group by it"
        )
        print(
            frame[
                [
                    "cfg_seed",
                    "cfg_optimizer_name",
                    "cfg_optimizer_lr",
                    "cfg_note",
                    "accuracy",
                ]
            ].to_string(index=False)
        )
        print(
            "\nbest learning rate:",
            frame.loc[frame["accuracy"].idxmax(), "cfg_optimizer_lr"],
        )
        tracker.close()


if __name__ == "__main__":
    main()
