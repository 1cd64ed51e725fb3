"""Imported once by the forkserver helper so every job child starts with these modules loaded."""

try:  # nothing here may fail: a failing preload would kill the helper
    import reflexng.engine.child  # noqa: F401
    import reflexng.provenance.headers  # noqa: F401
    import reflexng.recipes.protocol  # noqa: F401

    try:
        import numpy  # noqa: F401
        from astropy.io import fits  # noqa: F401
    except Exception:
        pass
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from reflexng.recipes import registry

        registry.known_recipes()  # imports the recipe modules (entry points, $REFLEXNG_RECIPE_MODULES)
except Exception:  # pragma: no cover
    pass
