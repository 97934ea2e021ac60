"""The one exception type for bad user input; entry points print its message as one line."""


class UserError(Exception):
  """Bad input from the user (flag, file, data): the message says what is wrong and how to fix it."""
