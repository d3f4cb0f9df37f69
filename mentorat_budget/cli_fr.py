"""click speaks French: its help headings and error messages, translated.

click looks its messages up with `gettext` under names bound at import time
(`_` and `ngettext` in each of its modules); we rebind those names to a lookup
in the table below. Messages not in the table stay in English.
"""

from __future__ import annotations

import sys

FR = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Show this message and exit.": "Affiche cette aide et quitte.",
    "Show the version and exit.": "Affiche la version et quitte.",
    "%(prog)s, version %(version)s": "%(prog)s, version %(version)s",
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Aide : « {command} {option} ».",
    "Missing argument": "Argument manquant",
    "Missing option": "Option manquante",
    "Missing parameter": "Paramètre manquant",
    "Missing command.": "Commande manquante.",
    "Missing {param_type}": "{param_type} manquant",
    "Missing parameter: {param_name}": "Paramètre manquant : {param_name}",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "No such option {name!r}.": "Option inconnue : {name!r}.",
    "No such option: {name}": "Option inconnue : {name}",
    "Invalid value for {param_hint}: {message}": "Valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur invalide : {message}",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Option {name!r} requires an argument.": "L'option {name!r} attend une valeur.",
    "Option {name!r} requires {nargs} arguments.": "L'option {name!r} attend {nargs} valeurs.",
    "Got unexpected extra argument ({args})": "Argument en trop : {args}",
    "Got unexpected extra arguments ({args})": "Arguments en trop : {args}",
    "Did you mean {possibility}?": "Vouliez-vous dire {possibility} ?",
    "(Did you mean one of: {possibilities}?)": "(Vouliez-vous dire : {possibilities} ?)",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "{value!r} is not {choice}.": "{value!r} n'est pas {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} n'est pas l'une des valeurs {choices}.",
    "{name} {filename!r} does not exist.": "{name} {filename!r} introuvable.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} est un dossier.",
    "{name} {filename!r} is a file.": "{name} {filename!r} est un fichier.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} illisible (droits).",
    "{name} {filename!r} is not writable.": "{name} {filename!r} non modifiable (droits).",
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "default: {default}": "défaut : {default}",
    "Aborted!": "Interrompu.",
    "integer": "entier",
    "required": "obligatoire",
}


def _gettext(message: str) -> str:
    return FR.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


def install() -> None:
    """Rebind click's message lookups; idempotent."""
    for name, module in list(sys.modules.items()):
        if name == "click" or name.startswith("click."):
            if hasattr(module, "_"):
                module._ = _gettext  # type: ignore[attr-defined]
            if hasattr(module, "ngettext"):
                module.ngettext = _ngettext  # type: ignore[attr-defined]
