"""Which search space a latency table covers: written into its metadata at build time, read back
to price exactly that space (its preset and the shapes it was measured at). Its own module because
the builder writes it and the validator, the estimate and the tools read it."""

from __future__ import annotations

from proxyless_tf.errors import UserError

def _fields(space) -> tuple[str, ...]:
  """The fields that make a space of its family what it is (its family says)."""
  from proxyless_tf.families import family_of
  return family_of(space).table_space_fields


def space_metadata(space) -> dict:
  return {"space": space.name, **{f: getattr(space, f) for f in _fields(space)}}


def space_from_metadata(metadata: dict):
  """The exact space a table was built for (preset + the shapes it was measured at)."""
  import dataclasses
  from proxyless_tf.space.space import get_space
  if "space" not in metadata:
    raise UserError("this latency table does not say which search space it covers "
                    "(metadata 'space'); pass --space")
  base = get_space(metadata["space"])
  changes = {f: metadata[f] for f in _fields(base) if f in metadata}
  if "stage_widths" in changes:
    changes["stage_widths"] = tuple(changes["stage_widths"])
  return dataclasses.replace(base, **changes)
