"""The `__init__` of each shape of @slotted class in the front end (what
a shape is: dsl/slotted.py), written ahead of time so that start-up loads
them as bytecode instead of compiling each (~55 us a shape). Made by
`python -m flowc.dsl.slotted`; tests/test_slotted.py fails when it is not
current. The globals they name are those of the function `_init` makes."""

# ruff: noqa: F821
# mypy: ignore-errors
from __future__ import annotations


def plain_v(self, a0):
    self.f0 = a0


def plain_vv(self, a0, a1):
    self.f0 = a0
    self.f1 = a1


def plain_vvv(self, a0, a1, a2):
    self.f0 = a0
    self.f1 = a1
    self.f2 = a2


def plain_vvvv(self, a0, a1, a2, a3):
    self.f0 = a0
    self.f1 = a1
    self.f2 = a2
    self.f3 = a3


def plain_vvvvv(self, a0, a1, a2, a3, a4):
    self.f0 = a0
    self.f1 = a1
    self.f2 = a2
    self.f3 = a3
    self.f4 = a4


def plain_vvvvvv(self, a0, a1, a2, a3, a4, a5):
    self.f0 = a0
    self.f1 = a1
    self.f2 = a2
    self.f3 = a3
    self.f4 = a4
    self.f5 = a5


def plain_vvvvvvv(self, a0, a1, a2, a3, a4, a5, a6):
    self.f0 = a0
    self.f1 = a1
    self.f2 = a2
    self.f3 = a3
    self.f4 = a4
    self.f5 = a5
    self.f6 = a6


def plain_vvvvvvvvvvv(self, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10):
    self.f0 = a0
    self.f1 = a1
    self.f2 = a2
    self.f3 = a3
    self.f4 = a4
    self.f5 = a5
    self.f6 = a6
    self.f7 = a7
    self.f8 = a8
    self.f9 = a9
    self.f10 = a10


def plain_vvF(self, a0, a1, a2):
    self.f0 = a0
    self.f1 = a1
    self.f2 = __slotted_2__() if a2 is __slotted_factory__ else a2


def plain_vFF(self, a0, a1, a2):
    self.f0 = a0
    self.f1 = __slotted_1__() if a1 is __slotted_factory__ else a1
    self.f2 = __slotted_2__() if a2 is __slotted_factory__ else a2


def plain_FFFFF(self, a0, a1, a2, a3, a4):
    self.f0 = __slotted_0__() if a0 is __slotted_factory__ else a0
    self.f1 = __slotted_1__() if a1 is __slotted_factory__ else a1
    self.f2 = __slotted_2__() if a2 is __slotted_factory__ else a2
    self.f3 = __slotted_3__() if a3 is __slotted_factory__ else a3
    self.f4 = __slotted_4__() if a4 is __slotted_factory__ else a4


def plain_FFFFFFFF(self, a0, a1, a2, a3, a4, a5, a6, a7):
    self.f0 = __slotted_0__() if a0 is __slotted_factory__ else a0
    self.f1 = __slotted_1__() if a1 is __slotted_factory__ else a1
    self.f2 = __slotted_2__() if a2 is __slotted_factory__ else a2
    self.f3 = __slotted_3__() if a3 is __slotted_factory__ else a3
    self.f4 = __slotted_4__() if a4 is __slotted_factory__ else a4
    self.f5 = __slotted_5__() if a5 is __slotted_factory__ else a5
    self.f6 = __slotted_6__() if a6 is __slotted_factory__ else a6
    self.f7 = __slotted_7__() if a7 is __slotted_factory__ else a7


def frozen_(self):
    pass


def frozen_v(self, a0):
    __slotted_set__(self, "f0", a0)


def frozen_vv(self, a0, a1):
    __slotted_set__(self, "f0", a0)
    __slotted_set__(self, "f1", a1)


def frozen_vvv(self, a0, a1, a2):
    __slotted_set__(self, "f0", a0)
    __slotted_set__(self, "f1", a1)
    __slotted_set__(self, "f2", a2)


def frozen_vvvv(self, a0, a1, a2, a3):
    __slotted_set__(self, "f0", a0)
    __slotted_set__(self, "f1", a1)
    __slotted_set__(self, "f2", a2)
    __slotted_set__(self, "f3", a3)


def frozen_vvvvv(self, a0, a1, a2, a3, a4):
    __slotted_set__(self, "f0", a0)
    __slotted_set__(self, "f1", a1)
    __slotted_set__(self, "f2", a2)
    __slotted_set__(self, "f3", a3)
    __slotted_set__(self, "f4", a4)


def frozen_vvvvvvv(self, a0, a1, a2, a3, a4, a5, a6):
    __slotted_set__(self, "f0", a0)
    __slotted_set__(self, "f1", a1)
    __slotted_set__(self, "f2", a2)
    __slotted_set__(self, "f3", a3)
    __slotted_set__(self, "f4", a4)
    __slotted_set__(self, "f5", a5)
    __slotted_set__(self, "f6", a6)


def frozen_vvvvvvvv(self, a0, a1, a2, a3, a4, a5, a6, a7):
    __slotted_set__(self, "f0", a0)
    __slotted_set__(self, "f1", a1)
    __slotted_set__(self, "f2", a2)
    __slotted_set__(self, "f3", a3)
    __slotted_set__(self, "f4", a4)
    __slotted_set__(self, "f5", a5)
    __slotted_set__(self, "f6", a6)
    __slotted_set__(self, "f7", a7)


def frozen_vvvvvvvvvvv(self, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10):
    __slotted_set__(self, "f0", a0)
    __slotted_set__(self, "f1", a1)
    __slotted_set__(self, "f2", a2)
    __slotted_set__(self, "f3", a3)
    __slotted_set__(self, "f4", a4)
    __slotted_set__(self, "f5", a5)
    __slotted_set__(self, "f6", a6)
    __slotted_set__(self, "f7", a7)
    __slotted_set__(self, "f8", a8)
    __slotted_set__(self, "f9", a9)
    __slotted_set__(self, "f10", a10)


def frozen_vvvvvvF(self, a0, a1, a2, a3, a4, a5, a6):
    __slotted_set__(self, "f0", a0)
    __slotted_set__(self, "f1", a1)
    __slotted_set__(self, "f2", a2)
    __slotted_set__(self, "f3", a3)
    __slotted_set__(self, "f4", a4)
    __slotted_set__(self, "f5", a5)
    __slotted_set__(self, "f6", __slotted_6__() if a6 is __slotted_factory__ else a6)
