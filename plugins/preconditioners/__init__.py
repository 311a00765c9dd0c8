"""Preconditioners: the ``inverse_root`` task (Shampoo's A^(-1/p)) and its methods, and the
``spd_solve`` task with preconditioned CG and its references (scipy, ILU, AMG)."""
