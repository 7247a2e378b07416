"""The simulated controllers (kube-controller-manager), one module each."""
