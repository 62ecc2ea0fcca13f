# Copyright (c) medvlp contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every medvlp module so that it registers into medvlp's registries.

    Args:
        init_default_scope (bool): Whether to make ``'medvlp'`` the default scope.
            When the current default scope is another project's, a new instance named
            ``medvlp-<timestamp>`` is created so the other one is left untouched.
            Defaults to True.
    """
    import medvlp.datasets  # noqa: F401,F403
    import medvlp.engine  # noqa: F401,F403
    import medvlp.evaluation  # noqa: F401,F403
    import medvlp.models  # noqa: F401,F403
    import medvlp.text  # noqa: F401,F403
    import medvlp.visualization  # noqa: F401,F403

    if not init_default_scope:
        return

    current_scope = DefaultScope.get_current_instance()
    if current_scope is None:
        DefaultScope.get_instance('medvlp', scope_name='medvlp')
        return
    if current_scope.scope_name != 'medvlp':
        warnings.warn(
            f'The current default scope "{current_scope.scope_name}" is not "medvlp"; '
            '`register_all_modules` creates a new default scope named "medvlp-<time>".')
        new_instance_name = f'medvlp-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='medvlp')
