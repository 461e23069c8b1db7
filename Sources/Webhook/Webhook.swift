// Webhook module: see ../shared/DESIGN.md.
