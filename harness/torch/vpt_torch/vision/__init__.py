"""The vision task on the torch engine: the DINO ViT learner, the mask designer and its value, the random-mask
control and the frozen backbone's features for the harness's probes (docs/TRAINER-PROTOCOL.md, "Vision cells")."""
