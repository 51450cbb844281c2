"""The provenance line every results table starts with: machine, versions, date, command."""

import datetime
import platform
import subprocess

import torch


def provenance(command: str) -> str:
    """``Machine: <cpu>, <threads> threads; Python …, torch …; <date>; command `…`.``"""
    cpu = subprocess.run(["bash", "-c", "lscpu | grep 'Model name' | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    return (
        f"Machine: {cpu}, {torch.get_num_threads()} threads; Python {platform.python_version()}, "
        f"torch {torch.__version__}; {datetime.date.today()}; command `{command}`."
    )
