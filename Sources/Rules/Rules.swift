// Rules module: see ../shared/DESIGN.md.
