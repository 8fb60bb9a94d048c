"""Tasks and data: Sudoku, mazes, ARC and arithmetic, behind one data layer."""
