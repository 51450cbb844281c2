"""Bridges to other libraries (torch_geometric, scikit-learn, escnn)."""
