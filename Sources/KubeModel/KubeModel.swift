// KubeModel module: see ../shared/DESIGN.md.
