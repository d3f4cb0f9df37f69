"""mentorat-budget: the money side of the Plan mentorat au lycée professionnel."""

__version__ = "0.1.0"
