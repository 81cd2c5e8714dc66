import ipykernel, matplotlib, numpy  # noqa: F401
print("minimal imports")
