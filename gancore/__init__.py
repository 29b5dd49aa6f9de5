"""gancore: a headless GAN training engine with every objective of a GAN course, live-tunable and measured."""
