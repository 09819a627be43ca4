from __future__ import annotations

from .launch import main

main()
