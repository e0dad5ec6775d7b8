/** Bad input refused before any I/O: names the field (flag, parameter, spec path) so the message can say what to fix. */
export class FieldInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
