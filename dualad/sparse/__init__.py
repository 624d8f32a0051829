"""Sparse Jacobians and Hessians: sparsity detection, coloring and compressed evaluation."""
