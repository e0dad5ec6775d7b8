// The stand-in CLI's failure type and environment, apart from everything else so that parsing arguments and the
// dispatcher in main.ts load nothing heavier (the CLI starts a process per call: its start is most of a call).
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;
