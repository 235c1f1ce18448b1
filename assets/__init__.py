"""The shipped default model and icons, installed as the package ``hwr_assets``."""
